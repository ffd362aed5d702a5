"""How the IT-admin console's calendar-service list scales, and what organization scoping costs.

For a growing number of calendar services spread over ten organizations, it prints the median time
to render the list page for an organization admin (scoped to one organization) and for a superuser
(everything), their query counts, and the ratio of each to the floor: fetching the same page of rows
with the ORM alone, without rendering.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings_test")

import django

django.setup()

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment

ROUNDS = 15
SIZES = (10, 100, 1000)
PAGE = 100  # the admin's list_per_page


def median_ms(action) -> tuple[float, int]:
    action()  # warm up caches and connections
    timings = []
    for _ in range(ROUNDS):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            action()
            timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), len(queries)


def populate(total: int) -> tuple:
    from accounts.models import Organization, Role, User
    from accounts.services import membership_set, organization_create, user_create
    from calendars.models import CalendarService, CalendarServiceDomain

    CalendarServiceDomain.objects.all().delete()
    CalendarService.objects.all().delete()
    if not Organization.objects.exists():
        for index in range(10):
            organization_create(name=f"Organization {index}", actor=None)
        admin = user_create(email="admin@org0.example", password="x")
        membership_set(
            organization=Organization.objects.order_by("pk").first(), user=admin, role=Role.OWNER, actor=None
        )
        User.objects.create_superuser("root@platform.example", "x")
    organizations = list(Organization.objects.order_by("pk"))
    services = CalendarService.objects.bulk_create(
        CalendarService(organization=organizations[index % 10], provider="google", access_mode="free_busy")
        for index in range(total)
    )
    CalendarServiceDomain.objects.bulk_create(
        CalendarServiceDomain(service=service, domain=f"d{index}.example") for index, service in enumerate(services)
    )
    return User.objects.get(email="admin@org0.example"), User.objects.get(email="root@platform.example")


def main() -> None:
    from calendars.models import CalendarService

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor}; median of {ROUNDS} requests; times in ms")
        print(
            f"{'services':>9} {'floor':>7} {'org admin':>10} {'queries':>8} {'x floor':>8} "
            f"{'superuser':>10} {'queries':>8} {'x floor':>8}"
        )
        for total in SIZES:
            admin, root = populate(total)
            admin_client, root_client = Client(), Client()
            admin_client.force_login(admin)
            root_client.force_login(root)
            url = "/admin/calendars/calendarservice/"

            def floor() -> None:
                list(
                    CalendarService.objects.select_related("organization", "connected_by").prefetch_related(
                        "domain_claims"
                    )[:PAGE]
                )

            floor_ms, _ = median_ms(floor)
            admin_ms, admin_queries = median_ms(lambda client=admin_client, url=url: client.get(url))
            root_ms, root_queries = median_ms(lambda client=root_client, url=url: client.get(url))
            print(
                f"{total:>9} {floor_ms:>7.2f} {admin_ms:>10.2f} {admin_queries:>8} {admin_ms / floor_ms:>8.1f} "
                f"{root_ms:>10.2f} {root_queries:>8} {root_ms / floor_ms:>8.1f}"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
