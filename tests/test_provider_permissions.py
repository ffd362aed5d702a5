"""Every permission the product asks a provider for, or looks for in a provider's token, is a name the
provider really has (tests/data/provider-permissions.json, with its sources), and the sandbox's demo
app registrations hold exactly what the product asks for."""

from __future__ import annotations

import json
from pathlib import Path

import googleapiclient
import pytest

from calendars.choices import CalendarProvider
from calendars.models import CalendarService
from calendars.providers import provider_traits
from calendars.scopes import REGISTRY, Flow, ScopeProvider, requested_scopes
from calendars.services import organization_required_scopes
from core.choices import AccessMode
from sandbox.scopes import ENTRA_APPLICATION_PERMISSIONS, ENTRA_DELEGATED_PERMISSIONS
from sandbox.seed import DEMO_APP_PERMISSIONS, DEMO_GOOGLE_DELEGATED_SCOPES

REAL = json.loads((Path(__file__).parent / "data" / "provider-permissions.json").read_text())
GOOGLE = set(REAL["google"]["scopes"]) | set(REAL["google"]["openid_connect"])
MICROSOFT_DELEGATED = set(REAL["microsoft"]["delegated"])
MICROSOFT_APPLICATION = set(REAL["microsoft"]["application"])
CALENDAR_MODES = (AccessMode.READ_WRITE, AccessMode.FREE_BUSY)


def test_the_list_names_its_sources():
    for provider in ("google", "microsoft", "zoom", "webex"):
        assert REAL[provider]["source"]


def test_the_google_names_are_the_ones_googles_discovery_documents_publish():
    documents = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    published = set()
    for name in ("calendar.v3.json", "admin.directory_v1.json", "meet.v2.json"):
        published |= set(json.loads((documents / name).read_text())["auth"]["oauth2"]["scopes"])
    assert set(REAL["google"]["scopes"]) <= published


@pytest.mark.parametrize("provider", [CalendarProvider.GOOGLE, CalendarProvider.MICROSOFT])
@pytest.mark.parametrize("mode", CALENDAR_MODES)
def test_individual_consent_asks_only_for_real_delegated_names(provider, mode):
    real = GOOGLE if provider == CalendarProvider.GOOGLE else MICROSOFT_DELEGATED
    asked = set(requested_scopes(Flow.INDIVIDUAL_CONSENT, provider=provider, access_mode=mode))
    assert asked
    assert asked <= real, asked - real


@pytest.mark.parametrize("mode", CALENDAR_MODES)
def test_a_google_organization_delegates_only_real_scopes(mode):
    asked = set(requested_scopes(Flow.ORGANIZATION_CALENDAR, provider=CalendarProvider.GOOGLE, access_mode=mode))
    assert asked <= GOOGLE, asked - GOOGLE


@pytest.mark.parametrize("mode", CALENDAR_MODES)
def test_a_microsoft_organizations_consent_is_verified_against_real_app_roles(mode):
    service = CalendarService(provider=CalendarProvider.MICROSOFT, access_mode=mode)
    verified = set(organization_required_scopes(service))
    assert verified
    assert verified <= MICROSOFT_APPLICATION, verified - MICROSOFT_APPLICATION


def test_microsoft_read_write_organizations_ask_for_calendars_read_write_not_the_seeds_name():
    service = CalendarService(provider=CalendarProvider.MICROSOFT, access_mode=AccessMode.READ_WRITE)
    assert "Calendars.ReadWrite" in organization_required_scopes(service)
    assert "Calendars.ReadWrite.All" not in organization_required_scopes(service)
    seed_row = next(row for row in REGISTRY if row.seed_text == "Calendars.ReadWrite.All")
    assert seed_row.scope == "Calendars.ReadWrite"
    assert "no Calendars.ReadWrite.All" in seed_row.note
    assert "everyone in the organization" in seed_row.meaning


def test_directory_and_conferencing_ask_only_for_real_names():
    real = {
        ScopeProvider.GOOGLE: GOOGLE,
        ScopeProvider.MICROSOFT: MICROSOFT_APPLICATION,
        ScopeProvider.ZOOM: set(REAL["zoom"]["scopes"]),
        ScopeProvider.WEBEX: set(REAL["webex"]["scopes"]),
    }
    for flow in (Flow.DIRECTORY_SYNC, Flow.CONFERENCING):
        for provider, names in real.items():
            asked = set(requested_scopes(flow, provider=provider))
            assert asked <= names, (flow, provider, asked - names)


def test_the_sandbox_knows_only_real_entra_names():
    assert ENTRA_APPLICATION_PERMISSIONS <= MICROSOFT_APPLICATION
    assert ENTRA_DELEGATED_PERMISSIONS <= MICROSOFT_DELEGATED
    assert "Calendars.ReadWrite.All" not in ENTRA_APPLICATION_PERMISSIONS | ENTRA_DELEGATED_PERMISSIONS


@pytest.mark.parametrize(
    ("registration", "mode"),
    [("microsoft", AccessMode.READ_WRITE), ("microsoft_free_busy", AccessMode.FREE_BUSY)],
)
def test_the_demo_app_registrations_hold_exactly_what_the_product_verifies(registration, mode):
    service = CalendarService(provider=CalendarProvider.MICROSOFT, access_mode=mode)
    held = (
        set(DEMO_APP_PERMISSIONS[registration])
        - provider_traits(CalendarProvider.MICROSOFT).organization_sign_in_scopes
    )
    assert held == set(organization_required_scopes(service))


def test_the_demo_google_delegation_holds_exactly_what_read_write_organizations_and_directories_ask_for():
    # The demo's Google Workspace organizations are Read-Write (cronofy_site/demo.py) and connect their
    # directory with the same service account.
    asked = set(
        requested_scopes(
            Flow.ORGANIZATION_CALENDAR, provider=CalendarProvider.GOOGLE, access_mode=AccessMode.READ_WRITE
        )
    ) | set(requested_scopes(Flow.DIRECTORY_SYNC, provider=CalendarProvider.GOOGLE))
    assert set(DEMO_GOOGLE_DELEGATED_SCOPES) == asked


def test_the_demo_directory_registration_holds_exactly_what_directories_ask_for():
    asked = set(requested_scopes(Flow.DIRECTORY_SYNC, provider=CalendarProvider.MICROSOFT))
    assert set(DEMO_APP_PERMISSIONS["microsoft_directory"]) == asked
    assert asked <= MICROSOFT_APPLICATION
