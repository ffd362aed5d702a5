"""How fast Enterprise Connect answers integrators' requests for people.

An organization's Read-Write service serves PEOPLE provisioned people; a service account asks for
each of them (`POST /v1/service_account_authorizations` in batches of 50), and the worker's work is
timed: resolve each request (the person, the delegated scope, their mode, their profile), issue the
code, audit it, and POST the answer to a local HTTP receiver through the outbound guard. The floor is
the same number of codes issued directly (`authorization_code_issue`) and POSTed to the same receiver
with plain requests over one session. Rounds alternate (interleaved), so load on the machine weighs on
both alike. Prints authorizations per second for both, and their ratio.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings_test")
os.environ.setdefault("RSA_KEY_BITS", "2048")  # production's key size, not the test suite's

import django

django.setup()

from django.db import connection
from django.test.utils import setup_test_environment

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    import requests
    from django_q.conf import Conf
    from rest_framework.test import APIClient

    from accounts.models import Role, ServiceAccountAuthorization
    from accounts.oauth import (
        application_create,
        authorization_code_issue,
        service_account_create,
        service_account_tokens_issue,
    )
    from accounts.services import membership_set, organization_create, user_create
    from calendars.choices import CalendarProvider
    from calendars.models import CalendarProfile
    from calendars.services import calendar_service_authorize, calendar_service_connect, calendar_service_provision
    from connect.enterprise import service_account_authorization_resolve

    # Queued work (provisioned people's first syncs against credentials that reach no provider) waits in
    # the queue instead of running inline: only the authorizations are timed.
    Conf.SYNC = False
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    callback = f"http://127.0.0.1:{server.server_port}/hooks"
    try:
        acme = organization_create(name="Acme", actor=None)
        owner = user_create(email="owner@acme.example", name="Owner", password="x-" * 8, email_verified=True)
        membership_set(organization=acme, user=owner, role=Role.OWNER, actor=None)
        service = calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode="read_write",
            domains=["acme.example"],
            connected_by=owner,
        )
        service.domain_claims.update(proven_at=service.created_at, proof="operator")
        calendar_service_authorize(service=service, credentials={"kind": "bench"}, granted_scopes=[], actor=owner)
        emails = [f"person{n}@acme.example" for n in range(PEOPLE)]
        for email in emails:
            user_create(email=email, name=email, password=None, email_verified=True)
        # Provisioned through the service, as the organization's directory would have done: Enterprise
        # Connect reaches the people its grant already serves (and asks the provider about anyone else).
        calendar_service_provision(service=service)
        application, _ = application_create(name="Bench", redirect_uris=[callback])
        service_account = service_account_create(
            organization=acme,
            application=application,
            scopes=["service_account/accounts/manage"],
            delegated_scopes=["read_write"],
            actor=owner,
        )
        token = service_account_tokens_issue(service_account=service_account).access_token
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

        def enterprise_round() -> float:
            ServiceAccountAuthorization.objects.all().delete()
            for start in range(0, PEOPLE, 50):
                batch = [
                    {"email": email, "scope": "read_write", "callback_url": callback}
                    for email in emails[start : start + 50]
                ]
                client.post(
                    "/v1/service_account_authorizations", {"service_account_authorizations": batch}, format="json"
                )
            ids = list(ServiceAccountAuthorization.objects.order_by("pk").values_list("pk", flat=True))
            began = time.perf_counter()
            for authorization_id in ids:
                service_account_authorization_resolve(authorization_id=authorization_id)
            elapsed = time.perf_counter() - began
            granted = ServiceAccountAuthorization.objects.filter(delivered_at__isnull=False, outcome="granted")
            if granted.count() != PEOPLE:
                raise RuntimeError(f"Only {granted.count()} of {PEOPLE} granted.")
            return elapsed

        def floor_round() -> float:
            profiles = dict(CalendarProfile.objects.filter(calendar_service=service).values_list("user__email", "pk"))
            users = {
                profile.user.email: profile.user
                for profile in CalendarProfile.objects.filter(calendar_service=service).select_related("user")
            }
            began = time.perf_counter()
            with requests.Session() as session:
                for email in emails:
                    code = authorization_code_issue(
                        application=application,
                        user=users[email],
                        scopes=["read_write"],
                        redirect_uri=callback,
                        profile_id=profiles[email],
                    )
                    session.post(callback, json={"authorization": {"code": code, "state": ""}}, timeout=10)
            return time.perf_counter() - began

        enterprise_round()  # warm-up; provisions everyone's profile once
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            enterprise_round()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
            return
        enterprise_times, floor_times = [], []
        for _ in range(ROUNDS):
            enterprise_times.append(enterprise_round())
            floor_times.append(floor_round())
        enterprise, floor = statistics.median(enterprise_times), statistics.median(floor_times)
        print(f"{PEOPLE} people, {ROUNDS} interleaved rounds, {connection.vendor}")
        print(f"  Enterprise Connect (resolve, code, audit, guarded callback): {PEOPLE / enterprise:8.1f} per second")
        print(f"  floor (code issued, plain POST over one session):           {PEOPLE / floor:8.1f} per second")
        print(f"  ratio of times: {enterprise / floor:.2f}x the floor")
    finally:
        server.shutdown()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
