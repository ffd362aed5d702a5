"""An account's access token, and an application's client secret, are each authenticated by one
hand-written query (accounts/oauth.py). Every condition the ORM's lookups checked must still hold, on
both databases, and the instances built must be what the ORM would have built: these tests go through
each one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.idp.oidc.models import Token
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Application, Grant, ServiceAccount, User
from accounts.oauth import (
    access_token_authenticate,
    application_by_secret,
    application_create,
    grant_revoke,
    service_account_create,
    tokens_issue_for,
)

pytestmark = pytest.mark.django_db

SCOPES = ["read_events", "create_event", "read_free_busy"]


def concrete_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def token_row(value: str) -> Token:
    return Token.objects.by_value(value).get(type=Token.Type.ACCESS_TOKEN)


@pytest.fixture
def issued(alice, integrator):
    return tokens_issue_for(application=integrator.application, user=alice, scopes=SCOPES)


def test_a_valid_token_gives_the_account_application_grant_and_scopes_as_the_orm_reads_them(alice, integrator, issued):
    with CaptureQueriesContext(connection) as queries:
        context = access_token_authenticate(issued.access_token)
        # What the views use of it is there without another query.
        assert context.grant.user is context.user and context.grant.application is context.application
        assert context.grant.service_account is None

    assert len(queries) == 1
    grant = Grant.objects.get(user=alice, application=integrator.application)
    assert concrete_values(context.user) == concrete_values(User.objects.get(pk=alice.pk))
    assert concrete_values(context.grant) == concrete_values(grant)
    expected_application = concrete_values(Application.objects.get(pk=integrator.application.pk))
    del expected_application["signing_secret"]
    assert {k: v for k, v in concrete_values(context.application).items() if k != "signing_secret"} == (
        expected_application
    )
    # Booleans are booleans, times are aware datetimes, JSON is decoded, on SQLite too.
    assert context.user.is_active is True and context.user.is_staff is False
    assert context.grant.created_at.tzinfo is not None
    assert isinstance(context.grant.scopes, list) and isinstance(context.application.offered_access_modes, list)
    assert context.scopes == frozenset(token_row(issued.access_token).get_scopes())
    assert context.allows("read_free_busy")


def test_the_signing_secret_is_not_read_to_authenticate_but_loads_when_used(integrator, issued):
    context = access_token_authenticate(issued.access_token)

    assert "signing_secret" in context.application.get_deferred_fields()
    with CaptureQueriesContext(connection) as queries:
        assert context.application.signing_secret == integrator.secret
    assert len(queries) == 1


@pytest.mark.parametrize("value", ["", "not-a-token", "x" * 500])
def test_an_unknown_value_is_nobody(value, issued):
    assert access_token_authenticate(value) is None


def test_a_refresh_token_or_a_code_is_not_an_access_token(issued):
    assert access_token_authenticate(issued.refresh_token) is None


def test_an_expired_token_is_nobody(issued):
    Token.objects.filter(pk=token_row(issued.access_token).pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert access_token_authenticate(issued.access_token) is None


def test_a_token_of_an_inactive_account_is_nobody(alice, issued):
    User.objects.filter(pk=alice.pk).update(is_active=False)

    assert access_token_authenticate(issued.access_token) is None


def test_a_token_of_a_revoked_grant_is_nobody(alice, integrator, issued):
    grant = Grant.objects.get(user=alice, application=integrator.application)
    Grant.objects.filter(pk=grant.pk).update(revoked_at=timezone.now())

    assert access_token_authenticate(issued.access_token) is None


def test_revoking_through_the_api_ends_the_token(integrator, issued):
    assert grant_revoke(application=integrator.application, token=issued.refresh_token)

    assert access_token_authenticate(issued.access_token) is None


@pytest.mark.parametrize(
    "data",
    [None, {}, {"grant": None}, {"grant": "1 OR 1=1"}, {"grant": 1.5}, {"grant": [1]}, {"service_account": 1}],
)
def test_a_token_that_names_no_grant_is_nobody(data, issued):
    Token.objects.filter(pk=token_row(issued.access_token).pk).update(data=data)

    assert access_token_authenticate(issued.access_token) is None


def test_a_token_that_names_another_accounts_or_applications_grant_is_nobody(alice, bob, integrator, issued):
    """Tokens only ever name their own grant; were one to name another, it would not be honoured."""
    other_application, _ = application_create(name="Other", redirect_uris=["https://other.example/cb"])
    tokens_issue_for(application=integrator.application, user=bob, scopes=SCOPES)
    tokens_issue_for(application=other_application, user=alice, scopes=SCOPES)
    bobs = Grant.objects.get(user=bob, application=integrator.application)
    others = Grant.objects.get(user=alice, application=other_application)
    row = token_row(issued.access_token)

    for grant in (bobs, others):
        Token.objects.filter(pk=row.pk).update(data={"grant": grant.pk})
        assert access_token_authenticate(issued.access_token) is None


def test_a_grant_under_a_service_account_stands_while_the_service_account_does(acme, bob, alice, integrator, issued):
    service_account = service_account_create(
        organization=acme,
        application=integrator.application,
        scopes=["service_account/accounts/manage"],
        delegated_scopes=["read_write"],
        actor=bob,
    )
    Grant.objects.filter(user=alice, application=integrator.application).update(service_account=service_account)

    with CaptureQueriesContext(connection) as queries:
        context = access_token_authenticate(issued.access_token)
        delegated_by = context.grant.service_account
    assert len(queries) == 1
    assert concrete_values(delegated_by) == concrete_values(ServiceAccount.objects.get(pk=service_account.pk))

    ServiceAccount.objects.filter(pk=service_account.pk).update(revoked_at=timezone.now())
    assert access_token_authenticate(issued.access_token) is None


def test_a_client_secret_gives_its_application_in_one_query_without_its_signing_secret(integrator):
    application_create(name="Other", redirect_uris=["https://other.example/cb"])

    with CaptureQueriesContext(connection) as queries:
        application = application_by_secret(integrator.secret)
    assert len(queries) == 1

    expected = concrete_values(Application.objects.get(pk=integrator.application.pk))
    assert "signing_secret" in application.get_deferred_fields()
    del expected["signing_secret"]
    assert {k: v for k, v in concrete_values(application).items() if k != "signing_secret"} == expected
    assert application.signing_secret == integrator.secret  # loaded when a notification is signed


@pytest.mark.parametrize("value", ["", "not-the-secret"])
def test_a_wrong_client_secret_is_no_application(value, integrator, issued):
    assert application_by_secret(value) is None
    assert application_by_secret(issued.access_token) is None
