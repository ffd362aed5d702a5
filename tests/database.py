"""Emptying PostgreSQL after a transactional test in milliseconds, a pytest plugin loaded by conftest.py.

About 450 tests are transactional (the live server, the sandbox's world, browsers, real SMTP), and
Django ends each with `flush`: a TRUNCATE of all ~150 tables, which costs PostgreSQL a new file per
table and index (~0.35 s), then post_migrate re-creating every content type and permission (~0.15 s).
That was a third of the suite's time. Here one query finds the tables a test left rows in and one
statement deletes those rows; content types and permissions, which migrate wrote and no test changes,
stay as they are. Foreign keys are deferred constraints, checked once at commit, so the order of the
deletes does not matter. SQLite keeps Django's flush (a DELETE per table, already cheap there).
"""

from __future__ import annotations

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import TransactionTestCase

# Written by migrate and never by a test: emptying them would only mean writing them again.
KEPT_TABLES = frozenset({"django_content_type", "auth_permission"})

_django_fixture_teardown = TransactionTestCase._fixture_teardown


def tables_with_rows(connection: BaseDatabaseWrapper) -> list[str]:
    tables = sorted(
        set(connection.introspection.django_table_names(only_existing=True, include_views=False)) - KEPT_TABLES
    )
    if not tables:
        return []
    quote = connection.ops.quote_name
    probes = " UNION ALL ".join(f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(probes, tables)
        return [row[0] for row in cursor.fetchall()]


def empty_tables(connection: BaseDatabaseWrapper) -> None:
    with transaction.atomic(using=connection.alias):
        tables = tables_with_rows(connection)
        if tables:
            quote = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.execute("; ".join(f"DELETE FROM {quote(table)}" for table in tables))


def _fixture_teardown(self: TransactionTestCase) -> None:
    names = list(self._databases_names(include_mirrors=False))
    if (
        self.available_apps is not None
        or self.serialized_rollback
        or any(connections[name].vendor != "postgresql" for name in names)
    ):
        _django_fixture_teardown(self)
        return
    for name in names:
        empty_tables(connections[name])


TransactionTestCase._fixture_teardown = _fixture_teardown  # type: ignore[method-assign]
