from django.apps import AppConfig


class ConferencingConfig(AppConfig):
    """Conferencing services and profiles, and the meetings made for events."""

    name = "conferencing"
    verbose_name = "Conferencing"

    def ready(self) -> None:
        from conferencing import signals  # noqa: F401  # registers the receivers
