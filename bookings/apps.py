from django.apps import AppConfig


class BookingsConfig(AppConfig):
    """Managed events, delivery strategies by access mode, the invitation outbox and reply ingestion."""

    name = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        from bookings import signals  # noqa: F401  # connects the inbound-webhook and offboarding receivers
        from bookings.selectors import future_events_changing_delivery
        from calendars.mode_changes import register_mode_change_impact

        # A mode change's preview says which booked events move between native writes and email.
        register_mode_change_impact(future_events_changing_delivery)
