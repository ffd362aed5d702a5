from django.apps import AppConfig


class ConnectConfig(AppConfig):
    """The integrator-facing layer: the OAuth server and consent pages (Individual Connect), the identity
    API, and Enterprise Connect (connect/enterprise.py)."""

    name = "connect"
    verbose_name = "Integrator connections"

    def ready(self) -> None:
        # allauth announces provider consents by signal; the consent flow turns them into profiles.
        from connect import signals  # noqa: F401
