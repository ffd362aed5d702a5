"""The scope registry against the product documents: every scope string of both seeds is in the
registry, in the right table, and every registry string is in a seed."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from calendars.scopes import (
    GOOGLE_SCOPE_PREFIX,
    MEANINGS,
    REGISTRY,
    WIRE_ONLY,
    ConnectionKind,
    Flow,
    Seed,
    provider_scopes,
    requested_scopes,
    rows_for,
)
from core.choices import AccessMode
from sandbox import seed_conferencing

SEEDS = Path(__file__).parent / "data" / "seeds"
SHARED_SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

MODES = {
    "Read-Write Access": AccessMode.READ_WRITE,
    "Free/Busy Access": AccessMode.FREE_BUSY,
    "Read Write": AccessMode.READ_WRITE,
    "Free/Busy": AccessMode.FREE_BUSY,
    "No Access": AccessMode.NO_ACCESS,
}
KINDS = {"Individual Connect": ConnectionKind.INDIVIDUAL, "Enterprise Connect": ConnectionKind.ENTERPRISE}
PROVIDERS = {  # heading -> (provider, conferencing product)
    "Microsoft": ("microsoft", ""),
    "Google": ("google", ""),
    "Google Workplace Scopes": ("google", ""),
    "Microsoft Graph Scopes": ("microsoft", ""),
    "Google Meet Scopes": ("google", "google_meet"),
    "Microsoft Teams Scopes": ("microsoft", "ms_teams"),
    "Webex Scopes": ("webex", "webex"),
    "Zoom Scopes": ("zoom", "zoom"),
}

Entry = tuple[str, str, str, str | None, str, str, str]  # seed, kind, provider, mode, label, text, product


def faq_entries() -> list[Entry]:
    """Scope strings of the FAQ's two HTML tables, cell by cell, with each cell's bold labels."""
    text = (SEEDS / Seed.FREE_BUSY_FAQ).read_text()
    section = text[text.index("## What data is shared?") : text.index("## Does conferencing")]
    entries: list[Entry] = []
    for title, body in re.findall(r"### (.+?)\n(.*?)(?=\n### |\Z)", section, flags=re.S):
        kind = KINDS[title.strip()]
        headers = [re.sub(r"<.*?>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", body, flags=re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1], flags=re.S):
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
            mode = MODES[cells[0].strip()]
            for header, cell in zip(headers[1:], cells[1:], strict=True):
                provider = PROVIDERS[header][0]
                for segment in cell.split("<br>"):
                    match = re.match(r"\s*\*\*(?P<label>[^*]+?):?\*\*:?\s*(?P<rest>.*)", segment, flags=re.S)
                    label, rest = (match["label"].strip(), match["rest"]) if match else ("", segment)
                    for scope in rest.split(","):
                        scope = scope.strip().rstrip(".")
                        if scope:
                            entries.append((Seed.FREE_BUSY_FAQ, kind, provider, mode, label, scope, ""))
    return entries


def organizational_entries() -> list[Entry]:
    """Scope strings of the Organizational Accounts page's code blocks, under their headings."""
    entries: list[Entry] = []
    h1 = h2 = h3 = ""
    in_block = False
    for line in (SEEDS / Seed.ORGANIZATIONAL_ACCOUNTS).read_text().splitlines():
        if not in_block and line.startswith("### "):
            h3 = line[4:].strip()
        elif not in_block and line.startswith("## "):
            h2, h3 = line[3:].strip(), ""
        elif not in_block and line.startswith("# "):
            h1, h2, h3 = line[2:].strip(), "", ""
        elif line.strip() == "```" and not in_block:
            in_block = True
        elif in_block:
            closes = line.rstrip().endswith("```")
            scope = line.replace("```", "").strip()
            if scope:
                provider, product = PROVIDERS[h3]
                if h1 == "Calendar Organization Accounts":
                    kind, mode = ConnectionKind.ORGANIZATIONAL, MODES[h2]
                elif h1 == "Directory Organization Accounts":
                    kind, mode = ConnectionKind.DIRECTORY, None
                else:
                    kind, mode = ConnectionKind.CONFERENCING, None
                entries.append((Seed.ORGANIZATIONAL_ACCOUNTS, kind, provider, mode, "", scope, product))
            in_block = not closes
    return entries


def registry_entries() -> list[Entry]:
    return [
        (row.seed, row.kind, row.provider, row.access_mode, row.label, row.seed_text, row.product) for row in REGISTRY
    ]


def test_the_seed_parsers_find_every_table():
    faq, organizational = faq_entries(), organizational_entries()
    assert {entry[1] for entry in faq} == {ConnectionKind.INDIVIDUAL, ConnectionKind.ENTERPRISE}
    assert {entry[1] for entry in organizational} == {
        ConnectionKind.ORGANIZATIONAL,
        ConnectionKind.DIRECTORY,
        ConnectionKind.CONFERENCING,
    }
    assert len(faq) == 13 + 24
    assert len(organizational) == 13 + 5 + 9


def test_every_seed_scope_is_in_the_registry_in_its_table():
    missing = Counter(faq_entries() + organizational_entries()) - Counter(registry_entries())
    assert not missing, f"in a seed, not in the registry: {sorted(missing)}"


def test_every_registry_scope_is_in_a_seed_in_its_table():
    invented = Counter(registry_entries()) - Counter(faq_entries() + organizational_entries())
    assert not invented, f"in the registry, in no seed: {sorted(invented)}"


def test_the_copied_seeds_match_the_shared_ones():
    if not SHARED_SEEDS.is_dir():
        pytest.skip("shared/seeds is not beside this checkout")
    for seed in Seed:
        assert (SEEDS / seed).read_text() == (SHARED_SEEDS / seed).read_text(), seed


def test_no_access_asks_for_nothing():
    assert "None - no access required" in (SEEDS / Seed.ORGANIZATIONAL_ACCOUNTS).read_text()
    for flow in (Flow.INDIVIDUAL_CONSENT, Flow.ORGANIZATION_CALENDAR):
        for provider in ("google", "microsoft"):
            assert requested_scopes(flow, provider=provider, access_mode=AccessMode.NO_ACCESS) == []
    assert not [row for row in REGISTRY if row.access_mode == AccessMode.NO_ACCESS]


@pytest.mark.parametrize(
    ("provider", "mode", "expected"),
    [
        ("google", AccessMode.READ_WRITE, ["email", "profile", f"{GOOGLE_SCOPE_PREFIX}calendar"]),
        (
            "google",
            AccessMode.FREE_BUSY,
            [
                "email",
                "profile",
                f"{GOOGLE_SCOPE_PREFIX}calendar.calendarlist.readonly",
                f"{GOOGLE_SCOPE_PREFIX}calendar.events.freebusy",
            ],
        ),
        ("microsoft", AccessMode.READ_WRITE, ["User.Read", "Calendars.ReadWrite", "offline_access"]),
        ("microsoft", AccessMode.FREE_BUSY, ["Calendars.ReadBasic", "User.Read", "offline_access"]),
    ],
)
def test_individual_consent_asks_for_exactly_the_modes_scopes(provider, mode, expected):
    assert requested_scopes(Flow.INDIVIDUAL_CONSENT, provider=provider, access_mode=mode) == expected


@pytest.mark.parametrize(
    ("provider", "mode", "expected"),
    [
        (
            "google",
            AccessMode.READ_WRITE,
            {
                "email",
                "profile",
                f"{GOOGLE_SCOPE_PREFIX}calendar",
                f"{GOOGLE_SCOPE_PREFIX}admin.directory.user.readonly",
                f"{GOOGLE_SCOPE_PREFIX}admin.directory.domain.readonly",
                f"{GOOGLE_SCOPE_PREFIX}admin.directory.resource.calendar",
            },
        ),
        (
            "google",
            AccessMode.FREE_BUSY,
            {
                "email",
                "profile",
                f"{GOOGLE_SCOPE_PREFIX}calendar.calendarlist.readonly",
                f"{GOOGLE_SCOPE_PREFIX}calendar.events.freebusy",
                f"{GOOGLE_SCOPE_PREFIX}admin.directory.user.readonly",
                f"{GOOGLE_SCOPE_PREFIX}admin.directory.domain.readonly",
            },
        ),
        (
            "microsoft",
            AccessMode.READ_WRITE,
            {
                "openid",
                "email",
                "Calendars.ReadWrite",
                "User.Read.All",
                "Organization.Read.All",
                "Place.Read.All",
            },
        ),
        (
            "microsoft",
            AccessMode.FREE_BUSY,
            {"openid", "email", "Calendars.ReadBasic.All", "User.Read.All", "Organization.Read.All"},
        ),
    ],
)
def test_an_organization_calendar_service_asks_for_its_modes_scopes(provider, mode, expected):
    scopes = requested_scopes(Flow.ORGANIZATION_CALENDAR, provider=provider, access_mode=mode)
    assert set(scopes) == expected
    assert len(scopes) == len(expected)


def test_free_busy_never_asks_for_a_scope_that_can_write_or_read_details():
    writing = {
        f"{GOOGLE_SCOPE_PREFIX}calendar",
        f"{GOOGLE_SCOPE_PREFIX}calendar.events",
        "Calendars.ReadWrite",
        "Calendars.ReadWrite.All",
        "Calendars.Read",
        f"{GOOGLE_SCOPE_PREFIX}admin.directory.resource.calendar",
    }
    for flow in (Flow.INDIVIDUAL_CONSENT, Flow.ORGANIZATION_CALENDAR):
        for provider in ("google", "microsoft"):
            assert not writing & set(requested_scopes(flow, provider=provider, access_mode=AccessMode.FREE_BUSY))


def test_conferencing_and_directory_scopes_come_from_the_organizational_page():
    assert requested_scopes(Flow.CONFERENCING, provider="microsoft", product="ms_teams") == [
        "OnlineMeetings.ReadWrite.All"
    ]
    assert requested_scopes(Flow.CONFERENCING, provider="zoom", product="zoom") == [
        "meeting:write:admin",
        "user:read:admin",
    ]
    assert requested_scopes(Flow.DIRECTORY_SYNC, provider="microsoft") == [
        "User.Read.All",
        "Organization.Read.All",
        "Place.Read.All",
    ]
    assert len(rows_for(Flow.CONFERENCING, provider="google", product="google_meet")) == 3


def test_every_scope_has_a_plain_language_line_and_a_valid_wire_form():
    for row in REGISTRY:
        assert row.meaning[0].islower(), row
        if row.scope is None:
            continue
        assert row.scope in MEANINGS, row.scope
        if row.provider == "google" and row.scope not in {"openid", "email", "profile"}:
            assert row.scope.startswith(GOOGLE_SCOPE_PREFIX)
            assert "//auth" not in row.scope.removeprefix("https://")


def test_a_row_no_flow_requests_says_why():
    for row in REGISTRY:
        if not row.used_by:
            assert row.note, row


def test_where_the_seeds_disagree_both_rows_are_kept():
    google_rw_individual = [
        row.seed_text
        for row in REGISTRY
        if row.kind == ConnectionKind.INDIVIDUAL
        and row.provider == "google"
        and row.access_mode == AccessMode.READ_WRITE
    ]
    assert "attachments" in google_rw_individual
    attachments = next(row for row in REGISTRY if row.seed_text == "attachments")
    assert attachments.scope is None
    assert not attachments.used_by
    assert "Organizational Accounts" in attachments.note
    calendar = next(row for row in REGISTRY if row.seed_text == f"{GOOGLE_SCOPE_PREFIX}calendar")
    assert calendar.used_by == {Flow.ORGANIZATION_CALENDAR, Flow.INDIVIDUAL_CONSENT}


def test_scopes_beyond_the_seeds_are_not_the_seeds_rows_of_their_flow_and_say_why():
    for row in WIRE_ONLY:
        assert row.scope not in requested_scopes(row.flow, provider=row.provider, product=row.product), row
        assert row.reason and row.scope in MEANINGS, row
    assert {row.scope for row in WIRE_ONLY if row.flow == Flow.CONFERENCING} == {"User.ReadBasic.All"}


def test_the_sandbox_registers_the_product_for_what_it_asks():
    teams = provider_scopes(Flow.CONFERENCING, provider="microsoft", product="ms_teams")
    zoom = requested_scopes(Flow.CONFERENCING, provider="zoom", product="zoom")
    meet = requested_scopes(Flow.CONFERENCING, provider="google", product="google_meet")
    zoom_personal = provider_scopes(Flow.CONFERENCING_PERSONAL, provider="zoom", product="zoom")
    assert teams == seed_conferencing.TEAMS_APP_PERMISSIONS
    assert zoom == seed_conferencing.ZOOM_SERVER_TO_SERVER_SCOPES
    assert meet == seed_conferencing.MEET_DELEGATED_SCOPES
    assert zoom_personal == seed_conferencing.ZOOM_USER_APP_SCOPES
    webex = set(seed_conferencing.WEBEX_INTEGRATION_SCOPES)
    assert webex >= set(requested_scopes(Flow.CONFERENCING, provider="webex", product="webex"))
    assert webex >= set(provider_scopes(Flow.CONFERENCING_PERSONAL, provider="webex", product="webex"))
