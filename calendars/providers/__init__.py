"""Clients for the calendar providers: a leaf that knows the providers and their app registrations,
and nothing of our models (calendars/clients.py builds clients from what a profile or service stores)."""

from __future__ import annotations

from django.conf import settings

from core.choices import AccessMode


def microsoft_app(access_mode: str) -> tuple[str, str]:
    """The app registration (client id, secret) of a mode: Free/Busy has its own, least-privileged one."""
    if access_mode == AccessMode.FREE_BUSY:
        return settings.MICROSOFT_FREE_BUSY_CLIENT_ID, settings.MICROSOFT_FREE_BUSY_CLIENT_SECRET
    return settings.MICROSOFT_CLIENT_ID, settings.MICROSOFT_CLIENT_SECRET


def microsoft_app_by_id(client_id: str) -> tuple[str, str]:
    """A delegated grant is bound to the app registration that obtained it."""
    for app_id, secret in (
        (settings.MICROSOFT_CLIENT_ID, settings.MICROSOFT_CLIENT_SECRET),
        (settings.MICROSOFT_FREE_BUSY_CLIENT_ID, settings.MICROSOFT_FREE_BUSY_CLIENT_SECRET),
    ):
        if app_id == client_id:
            return app_id, secret
    raise ValueError("The profile's grant belongs to an app registration this installation does not have.")
