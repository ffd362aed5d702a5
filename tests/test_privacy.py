"""Free/Busy is schema-deep: after syncing Free/Busy profiles on both providers, no table of this
system holds a title, description or location of any external event, and no log line does either.
Read-Write profiles keep details only when the account granted `read_events`."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from accounts.oauth import application_create, tokens_issue_for
from calendars.models import ExternalEventDetail
from calendars.sync import profile_sync
from calendars.tasks import profile_first_sync
from conftest import make_user
from sandbox.models import Event
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile

pytestmark = pytest.mark.django_db(transaction=True)

TEXT_TYPES = ("char", "text", "json", "clob", "varchar")


def secrets_of(events) -> set[str]:
    """The words of external events that must never be stored: titles, descriptions, locations."""
    found = set()
    for event in events:
        found |= {value for value in (event.summary, event.description, event.location) if value and len(value) > 3}
    return found


def tables_holding(needle: str) -> list[str]:
    """Every text column of every table of this system (the sandbox's own tables are the provider's)."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table.startswith("sandbox_"):
                continue
            for column in connection.introspection.get_table_description(cursor, table):
                kind = str(getattr(column, "type_code", "")).lower()
                data_type = connection.introspection.get_field_type(column.type_code, column).lower()
                if not any(word in data_type or word in kind for word in TEXT_TYPES):
                    continue
                # Table and column names come from introspection, never from input.
                quoted_table, quoted_column = connection.ops.quote_name(table), connection.ops.quote_name(column.name)
                query = f"SELECT COUNT(*) FROM {quoted_table} WHERE CAST({quoted_column} AS TEXT) LIKE %s"
                cursor.execute(query, [f"%{needle}%"])
                if cursor.fetchone()[0]:
                    hits.append(f"{table}.{column.name}")
    return hits


def test_free_busy_profiles_leave_no_event_detail_anywhere(world, caplog):
    caplog.set_level(logging.DEBUG)
    alice = make_user("alice@acme.example", "Alice")
    erin = make_user("erin@contoso.example", "Erin")
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    for user, person in ((alice, "alice"), (erin, "erin")):
        # Even an application granted read_events gets nothing more from a Free/Busy profile.
        tokens_issue_for(application=application, user=user, scopes=["read_events", "read_free_busy"])
        profile = connected_profile(world, user, person, mode="free_busy")
        profile_first_sync(profile.pk)
        assert profile.calendars.get().busy_periods.count() > 0  # the sync did run

    words = secrets_of(Event.objects.filter(calendar__owner__email__in=["alice@acme.example", "erin@contoso.example"]))
    assert {"Daily stand-up", "Board prep (confidential)", "Secret agenda", "Everest"} <= words
    for word in sorted(words):
        assert tables_holding(word) == [], word
        assert word not in caplog.text
    assert not ExternalEventDetail.objects.exists()


def test_read_write_keeps_details_only_with_read_events(world):
    alice = make_user("alice@acme.example", "Alice")
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    tokens_issue_for(application=application, user=alice, scopes=["read_free_busy"])
    profile = connected_profile(world, alice, "alice", mode="read_write")
    profile_first_sync(profile.pk)
    assert not ExternalEventDetail.objects.exists()
    assert tables_holding("Design review") == []

    tokens_issue_for(application=application, user=alice, scopes=["read_events"])
    profile_sync(profile=profile, full=True)
    review = ExternalEventDetail.objects.get(summary="Design review")
    assert review.location == "Everest"
    assert tables_holding("Design review") == ["calendars_externaleventdetail.summary"]
