from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    """Calendar services and profiles, the scope registry, provider clients, sync and availability."""

    name = "calendars"
    verbose_name = "Calendars"
