"""How fast directory rounds are, against the sandbox over real HTTP (google-api-python-client to the
sandbox's Admin SDK Directory API, served in this process by a threaded WSGI server).

A Google Workspace of 10,000 people (and its administrator) is grown in the sandbox. Three rounds are
timed: the first (everyone onboarded: accounts, verified addresses, memberships, directory rows,
profiles through a Read-Write calendar service, audit lines), one with no change, and one after 100
changes (renames, unit moves, suspensions). Beside each, a floor measured in the same run on the same
database: the same number of rows bulk-inserted with plain SQL (first round), the same rows read back
with plain SQL (no-change round), and the same reads plus 100 plain updates (100 changes). The ratio
says how much the round costs over the database work it cannot avoid; the provider's pages are part of
the round, not of the floor. It also prints the queries per page of people, which must not grow with
the page.

Run on PostgreSQL (the numbers on SQLite mean little):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/directory.py
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings_test")
os.environ.setdefault("RSA_KEY_BITS", "2048")  # production's key size, not the test suite's

import django

django.setup()

from django.conf import settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext, setup_test_environment
from django_q.conf import Conf

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "10000"))
CHANGES = 100


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _serve() -> tuple[_ThreadingServer, str]:
    from django.core.wsgi import get_wsgi_application

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = make_server(
        "127.0.0.1", port, get_wsgi_application(), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


def _floor_insert(rows: int) -> float:
    """Plain SQL: as many rows as the first round writes (account, address, membership, directory row,
    profile, four audit lines per person), into scratch tables of similar width, in batches of 500."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_rows (a varchar(254), b varchar(254), c varchar(200), d integer)")
        values = [(f"person{n}@bench.example", f"Person {n}", "/Engineering", n) for n in range(rows)]
        began = time.perf_counter()
        for _ in range(9):  # user, address, membership, directory row, profile and four audit lines
            for start in range(0, rows, 500):
                cursor.executemany("INSERT INTO bench_rows VALUES (%s, %s, %s, %s)", values[start : start + 500])
        seconds = time.perf_counter() - began
        cursor.execute("DROP TABLE bench_rows")
    return seconds


def _floor_read() -> float:
    """Plain SQL: the directory's rows and their accounts, read back."""
    with connection.cursor() as cursor:
        began = time.perf_counter()
        cursor.execute(
            "SELECT d.external_id, d.email, d.name, d.status, d.unit, u.email, u.name "
            "FROM directory_directoryuser d LEFT JOIN accounts_user u ON u.id = d.user_id"
        )
        cursor.fetchall()
        return time.perf_counter() - began


def _floor_update(count: int) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM directory_directoryuser ORDER BY id LIMIT %s", [count])
        ids = [row[0] for row in cursor.fetchall()]
        began = time.perf_counter()
        for pk in ids:
            cursor.execute("UPDATE directory_directoryuser SET name = name WHERE id = %s", [pk])
        return time.perf_counter() - began


def main() -> None:
    from accounts.services import organization_create, user_create
    from calendars.choices import CalendarProvider
    from calendars.services import calendar_service_authorize, calendar_service_connect
    from core.choices import AccessMode
    from directory.clients import directory_client_for, directory_scopes
    from directory.models import DirectoryProvider, DirectoryService, DirectoryUser, RoundStatus
    from directory.rounds import directory_round
    from directory.services import directory_service_authorize, directory_service_connect, directory_unit_mapping_set
    from sandbox import directory as sandbox_directory
    from sandbox.models import DelegationGrant, Person, Provider, Tenant
    from sandbox.seed import sandbox_clients, service_account_for

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    Conf.SYNC = False  # tasks (first calendar syncs) are queued, as in production, not run inline
    server, base = _serve()
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_URL = f"{base}/sandbox"
    try:
        account = service_account_for(sandbox_clients()["google"])
        tenant = Tenant.objects.create(
            provider=Provider.GOOGLE, name="Bench", external_id="C0bench", domains=["bench.example"]
        )
        Person.objects.create(
            tenant=tenant, email="admin@bench.example", name="Bench Admin", external_id="1" * 21, is_admin=True
        )
        DelegationGrant.objects.create(tenant=tenant, service_account=account, scopes=directory_scopes("google"))
        began = time.perf_counter()
        sandbox_directory.tenant_grow(tenant=tenant, size=PEOPLE + 1)
        grow_seconds = time.perf_counter() - began

        organization = organization_create(name="Bench", actor=None)
        admin = user_create(email="owner@elsewhere.example", password="x", email_verified=True)
        calendars = calendar_service_connect(
            organization=organization,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.READ_WRITE,
            domains=["bench.example"],
            connected_by=admin,
        )
        calendar_service_authorize(
            service=calendars,
            credentials={"kind": "google_service_account", "key": account.key},
            granted_scopes=[],
            actor=admin,
        )
        service = directory_service_connect(
            organization=organization, provider=DirectoryProvider.GOOGLE, connected_by=admin
        )
        DirectoryService.objects.filter(pk=service.pk).update(acting_user="admin@bench.example")
        service.refresh_from_db()
        # People moved to another department (the changes below) go to another unit.
        moved_to = organization_create(name="Bench, moved", parent=organization, actor=None)
        for department in sandbox_directory.DEPARTMENTS:
            directory_unit_mapping_set(service=service, source=f"/{department} 2", organization=moved_to, actor=None)
        directory_service_authorize(
            service=service,
            credentials={"kind": "google_service_account", "key": account.key},
            granted_scopes=directory_scopes("google"),
            actor=admin,
        )

        def timed_round() -> tuple[float, object, int]:
            with CaptureQueriesContext(connections["default"]) as queries:
                began = time.perf_counter()
                outcome = directory_round(service=DirectoryService.objects.get(pk=service.pk))
                seconds = time.perf_counter() - began
            if outcome.round.status != RoundStatus.SUCCEEDED:
                raise SystemExit(f"The round did not succeed: {outcome.round.status} {outcome.round.errors[:3]}")
            return seconds, outcome.round, len(queries)

        first_seconds, first, first_queries = timed_round()
        onboarded = DirectoryUser.objects.filter(service=service, user__isnull=False).count()
        if onboarded != PEOPLE + 1:
            raise SystemExit(f"Expected {PEOPLE + 1} people onboarded, found {onboarded}")
        insert_floor = _floor_insert(PEOPLE + 1)

        same_seconds, same, same_queries = timed_round()
        read_floor = _floor_read()
        began = time.perf_counter()
        directory_client_for(DirectoryService.objects.get(pk=service.pk)).people(cursor=None)
        listing_seconds = time.perf_counter() - began

        sandbox_directory.tenant_change_some(tenant=tenant, count=CHANGES)
        changed_seconds, changed, changed_queries = timed_round()
        update_floor = _floor_read() + _floor_update(CHANGES)

        pages = -(-(PEOPLE + 1) // settings.DIRECTORY_PAGE_SIZE)
        print(
            f"database: {connection.vendor}; {PEOPLE + 1} people in the sandbox's Workspace "
            f"(grown in {grow_seconds:.1f} s)"
        )
        print(f"pages of {settings.DIRECTORY_PAGE_SIZE} people from users.list over HTTP: {pages} (+ deleted users)")
        rows = [
            ("first round (onboard everyone)", first_seconds, insert_floor, first, first_queries, 30),
            ("no-change round", same_seconds, read_floor, same, same_queries, 3),
            (f"round with {CHANGES} changes", changed_seconds, update_floor, changed, changed_queries, 5),
        ]
        print(f"{'':<34} {'seconds':>8} {'target':>7} {'floor s':>8} {'ratio':>7} {'queries':>8}  what it did")
        for label, seconds, floor, round_, queries, target in rows:
            print(
                f"{label:<34} {seconds:>8.2f} {target:>7} {floor:>8.3f} {seconds / floor:>7.1f} {queries:>8}  "
                f"{round_.summary()}"
            )
        print(f"{'(the listing alone over HTTP)':<34} {listing_seconds:>8.2f}")
        per_page = (first_queries - same_queries) / pages
        print(
            f"queries per page of onboarded people: {per_page:.1f} "
            "(constant: asserted in directory/tests/test_onboarding.py)"
        )
    finally:
        server.shutdown()
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
