from django.apps import AppConfig


class BookingsConfig(AppConfig):
    """Managed events, delivery strategies by access mode, the invitation outbox and reply ingestion."""

    name = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        from bookings import signals  # noqa: F401  # connects the inbound-webhook and offboarding receivers
