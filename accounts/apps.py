from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, Organizational Units and roles, the audit trail; later integrator applications and consent."""

    name = "accounts"
    verbose_name = "Organizations and people"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  # connects the allauth signal handlers
