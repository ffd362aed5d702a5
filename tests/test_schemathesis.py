"""Property-based requests against the served OpenAPI schema on a live server (schemathesis): every
operation, a few derandomized examples each, with real credentials so requests get past
authentication. No answer may be a server error (finding 8's acceptance). Response bodies are not
checked against the schema: several operations still describe their output as a plain object."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from accounts.oauth import application_create, tokens_issue_for
from calendars.services import calendar_profile_connect
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT

# Examples per operation: enough to reach past validation into the views, few enough that the
# whole run takes seconds (the suite must stay well inside its time budget on two cores).
EXAMPLES_PER_OPERATION = 6
CASES_RUN: list[tuple[str, str, int]] = []


@pytest.fixture
def api_schema(live_server, transactional_db):
    return schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")


@pytest.fixture
def credentials(transactional_db):
    application, secret = application_create(name="Fuzzed", redirect_uris=[INTEGRATOR_REDIRECT])
    alice = make_user("alice@acme.example", "Alice")
    calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    token = tokens_issue_for(application=application, user=alice, scopes=["read_write"]).access_token
    return {"account": token, "application": secret}


def fuzz(operation, secret: str, server_errors: list) -> None:
    """A few derandomized examples of one operation, sent with real credentials."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
        response = case.call()
        CASES_RUN.append((case.method, case.path, response.status_code))
        if response.status_code >= 500:
            server_errors.append((case.method, case.formatted_path, response.status_code, response.text[:300]))

    call()


def test_no_operation_answers_with_a_server_error(api_schema, credentials):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20  # every /v1 operation the schema serves
    server_errors: list = []
    for operation in operations:
        # /v1/availability takes the application's secret; every other operation an account's token.
        kind = "application" if operation.path == "/v1/availability" else "account"
        fuzz(operation, credentials[kind], server_errors)
    assert server_errors == []
    assert len(CASES_RUN) >= len(operations) * 2
