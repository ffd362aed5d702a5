"""Finding 10: calls are rate limited per application on `/v1` and per client id on `/oauth/token`
(429 with Retry-After, as Cronofy's documented limits), and a client whose secret keeps failing is
slowed down, whatever secret it tries next."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.oauth import application_create, service_account_create, service_account_tokens_issue, tokens_issue_for
from accounts.services import organization_create
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db


@pytest.fixture
def apps():
    alpha, alpha_secret = application_create(name="Alpha", redirect_uris=[INTEGRATOR_REDIRECT])
    beta, _ = application_create(name="Beta", redirect_uris=[INTEGRATOR_REDIRECT])
    alice, bob = make_user("alice@acme.example"), make_user("bob@acme.example")
    return {
        "alpha": alpha,
        "alpha_secret": alpha_secret,
        "alice_alpha": tokens_issue_for(application=alpha, user=alice, scopes=["read_only"]).access_token,
        "bob_alpha": tokens_issue_for(application=alpha, user=bob, scopes=["read_only"]).access_token,
        "alice_beta": tokens_issue_for(application=beta, user=alice, scopes=["read_only"]).access_token,
    }


def account(token: str):
    return Client().get("/v1/account", headers={"Authorization": f"Bearer {token}"})


def test_an_application_over_its_rate_gets_429_with_retry_after(apps, settings):
    settings.API_RATE_SUSTAINED = "4/min"
    statuses = [account(apps["alice_alpha"] if n % 2 else apps["bob_alpha"]).status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # counted per application, across its accounts' tokens
    response = account(apps["alice_alpha"])
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert account(apps["alice_beta"]).status_code == 200  # another application has its own allowance


def token_call(client_id: str, secret: str):
    return Client().post(
        reverse("oauth-token"),
        {"client_id": client_id, "client_secret": secret, "grant_type": "refresh_token", "refresh_token": "x"},
    )


def test_failed_secrets_slow_the_client_down(apps, settings):
    settings.OAUTH_FREE_FAILURES = 3
    client_id = apps["alpha"].client_id
    statuses = [token_call(client_id, f"guess-{n}").status_code for n in range(4)]
    assert statuses == [401, 401, 401, 401]
    response = token_call(client_id, apps["alpha_secret"])
    assert response.status_code == 429  # even the right secret waits out the pause
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"] == "slow_down"


def test_the_token_endpoint_is_rate_limited_per_client_id(apps, settings):
    settings.OAUTH_TOKEN_RATE_PER_MINUTE = 3
    client_id = apps["alpha"].client_id
    statuses = [token_call(client_id, apps["alpha_secret"]).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]  # invalid_grant (no such refresh token), then throttled
    assert token_call("another-client", "whatever").status_code == 401


def test_a_service_accounts_calls_count_against_its_application(apps, settings):
    settings.API_RATE_SUSTAINED = "4/min"
    service_account = service_account_create(
        organization=organization_create(name="Acme", actor=None),
        application=apps["alpha"],
        scopes=["service_account/resources/manage"],
        delegated_scopes=["free_busy"],
        actor=None,
    )
    token = service_account_tokens_issue(service_account=service_account).access_token
    resources = [
        Client().get("/v1/resources", headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(3)
    ]
    assert resources == [200, 200, 200]
    assert [account(apps["alice_alpha"]).status_code for _ in range(2)] == [200, 429]


def test_on_redis_both_windows_count_in_one_pipeline_and_expire(apps, settings):
    """Production keeps the counters in Redis (REDIS_URL): one round trip counts the burst and the
    sustained window, each counter expiring after its window."""
    import redis

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/4"}
    }
    server = redis.Redis.from_url("redis://127.0.0.1:6379/4")
    server.flushdb()
    settings.API_RATE_BURST, settings.API_RATE_SUSTAINED = "100/s", "3/min"
    statuses = [account(apps["alice_alpha"]).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    keys = {key.decode(): server.ttl(key) for key in server.keys("*throttle:application_*")}
    assert {key.split(":")[-3] for key in keys} == {"application_burst", "application_sustained"}
    assert all(0 < ttl <= 61 for ttl in keys.values())
    assert max(int(server.get(key)) for key in keys) == 4
    server.flushdb()
