"""Choices the whole calendar domain shares (the access modes themselves are core.choices.AccessMode)."""

from django.db import models

from core.choices import AccessMode


class CalendarProvider(models.TextChoices):
    """Calendar platforms an organization's calendar service can run on."""

    GOOGLE = "google", "Google Workspace"
    MICROSOFT = "microsoft", "Microsoft 365"


class ProfileProviderName(models.TextChoices):
    """`provider_name` as Cronofy reports it for a profile; it encodes the provider and the access mode."""

    GOOGLE = "google", "Google"
    OFFICE365 = "office365", "Office 365"
    EXCHANGE = "exchange", "Exchange"
    GOOGLE_FREE_BUSY = "google_free_busy", "Google (Free/Busy)"
    MS_GRAPH_FREE_BUSY = "ms_graph_free_busy", "Microsoft 365 (Free/Busy)"
    CRONOFY = "cronofy", "Hosted calendar (No Access)"


class BusyStatus(models.TextChoices):
    """How an external event affects availability (Cronofy's free_busy_status)."""

    BUSY = "busy", "Busy"
    TENTATIVE = "tentative", "Tentative"
    FREE = "free", "Free"
    UNKNOWN = "unknown", "Unknown"


class ProfileStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    RELINK_REQUIRED = "relink_required", "Relink required"
    DISCONNECTED = "disconnected", "Disconnected"


# Which provider names belong to which access mode; the database enforces the same pairs.
PROVIDER_NAMES_BY_ACCESS_MODE: dict[str, tuple[str, ...]] = {
    AccessMode.READ_WRITE: (
        ProfileProviderName.GOOGLE,
        ProfileProviderName.OFFICE365,
        ProfileProviderName.EXCHANGE,
    ),
    AccessMode.FREE_BUSY: (ProfileProviderName.GOOGLE_FREE_BUSY, ProfileProviderName.MS_GRAPH_FREE_BUSY),
    AccessMode.NO_ACCESS: (ProfileProviderName.CRONOFY,),
}

# The calendar platform behind each provider name (None: our own hosted calendar).
PLATFORM_BY_PROVIDER_NAME: dict[str, str | None] = {
    ProfileProviderName.GOOGLE: CalendarProvider.GOOGLE,
    ProfileProviderName.GOOGLE_FREE_BUSY: CalendarProvider.GOOGLE,
    ProfileProviderName.OFFICE365: CalendarProvider.MICROSOFT,
    ProfileProviderName.EXCHANGE: CalendarProvider.MICROSOFT,
    ProfileProviderName.MS_GRAPH_FREE_BUSY: CalendarProvider.MICROSOFT,
    ProfileProviderName.CRONOFY: None,
}


# The provider_name of a profile on each platform in each mode. No Access profiles are calendars hosted
# here, whatever platform (if any) the person's organization uses.
PROVIDER_NAME_BY_PLATFORM_AND_MODE: dict[tuple[str | None, str], str] = {
    (CalendarProvider.GOOGLE, AccessMode.READ_WRITE): ProfileProviderName.GOOGLE,
    (CalendarProvider.GOOGLE, AccessMode.FREE_BUSY): ProfileProviderName.GOOGLE_FREE_BUSY,
    (CalendarProvider.MICROSOFT, AccessMode.READ_WRITE): ProfileProviderName.OFFICE365,
    (CalendarProvider.MICROSOFT, AccessMode.FREE_BUSY): ProfileProviderName.MS_GRAPH_FREE_BUSY,
    **{(platform, AccessMode.NO_ACCESS): ProfileProviderName.CRONOFY for platform in (None, *CalendarProvider)},
}


def profile_provider_name(*, platform: str | None, access_mode: str) -> str:
    """The provider_name Cronofy reports for a profile on this platform in this mode."""
    try:
        return PROVIDER_NAME_BY_PLATFORM_AND_MODE[(platform, access_mode)]
    except KeyError:
        raise ValueError(f"No provider name for platform {platform!r} in mode {access_mode!r}") from None
