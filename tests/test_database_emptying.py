"""The emptying of the database after a transactional test (tests/database.py) leaves no row behind
and keeps the content types and permissions that migrate wrote."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from accounts.models import Membership, Organization
from tests.database import KEPT_TABLES, empty_tables, tables_with_rows

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps Django's own flush")


def test_every_row_a_test_wrote_is_gone_and_migrate_rows_stay(transactional_db, acme, alice, bob):
    content_types, permissions = ContentType.objects.count(), Permission.objects.count()
    assert {"accounts_organization", "accounts_membership"} <= set(tables_with_rows(connection))

    empty_tables(connection)

    assert tables_with_rows(connection) == []
    assert not Organization.objects.exists() and not Membership.objects.exists()
    assert (ContentType.objects.count(), Permission.objects.count()) == (content_types, permissions)
    assert content_types > 0 and permissions > 0


def test_kept_tables_are_only_what_migrate_writes():
    assert {ContentType._meta.db_table, Permission._meta.db_table} == KEPT_TABLES
