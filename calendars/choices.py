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


def profile_provider_name(*, platform: str | None, access_mode: str) -> str:
    """The provider_name Cronofy reports for a profile on this platform in this mode."""
    if access_mode == AccessMode.NO_ACCESS:
        return ProfileProviderName.CRONOFY
    if platform == CalendarProvider.GOOGLE:
        return (
            ProfileProviderName.GOOGLE if access_mode == AccessMode.READ_WRITE else ProfileProviderName.GOOGLE_FREE_BUSY
        )
    if platform == CalendarProvider.MICROSOFT:
        return (
            ProfileProviderName.OFFICE365
            if access_mode == AccessMode.READ_WRITE
            else ProfileProviderName.MS_GRAPH_FREE_BUSY
        )
    raise ValueError(f"No provider name for platform {platform!r} in mode {access_mode!r}")
