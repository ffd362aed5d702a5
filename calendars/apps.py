from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    """Calendar services and profiles, the scope registry, provider clients, sync and availability."""

    name = "calendars"
    verbose_name = "Calendars"

    def ready(self) -> None:
        # What an integrator's token may do follows the person's calendars' access modes at request time.
        from accounts.oauth import register_withheld_scopes
        from calendars.access_modes import RESTRICTABLE_API_SCOPES
        from calendars.selectors import withheld_api_scopes_of

        register_withheld_scopes(restrictable=RESTRICTABLE_API_SCOPES, withheld=withheld_api_scopes_of)
