"""The OAuth2 server integrators talk to, in Cronofy's shape: applications, authorization codes,
access and refresh tokens, grants and their revocation.

Tokens are allauth identity-provider Token rows, so only their SHA-256 is stored. Codes are single
use and live ten minutes; access tokens an hour; refresh tokens until used (each refresh hands out a
new one) or revoked.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.idp.oidc.adapter import get_adapter
from allauth.idp.oidc.models import Client, Token
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from accounts import api_scopes
from accounts.actors import Actor
from accounts.models import Application, Grant, ServiceAccount, User
from accounts.services import audit_record
from core.choices import AccessMode
from core.db_functions import SelectedModel, column_sql, json_integer_sql, split_row, table_sql

CODE_LIFETIME = timedelta(minutes=10)
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)


class OAuthError(Exception):
    """An RFC 6749 error: `error` is the code the client sees, `status` the HTTP status."""

    def __init__(self, error: str, description: str = "", *, status: int = 400) -> None:
        super().__init__(description or error)
        self.error = error
        self.description = description
        self.status = status

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


def _new_value() -> str:
    # 32 URL-safe characters, like Cronofy's codes and tokens.
    return secrets.token_urlsafe(24)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


#
# Applications
#


@transaction.atomic
def application_create(
    *,
    name: str,
    redirect_uris: list[str],
    offered_access_modes: list[str] | None = None,
    actor: User | None = None,
) -> tuple[Application, str]:
    """Register an integrator application; returns it and its client secret, shown only this once."""
    modes = offered_access_modes or [AccessMode.READ_WRITE, AccessMode.FREE_BUSY]
    unknown = set(modes) - set(AccessMode.values)
    if unknown:
        raise ValueError(f"Unknown access modes: {sorted(unknown)}")
    secret = secrets.token_urlsafe(32)
    client = Client(name=name[:100], type=Client.Type.CONFIDENTIAL)
    client.set_secret(secret)
    client.set_redirect_uris(redirect_uris)
    client.set_scopes(sorted(api_scopes.ALL_SCOPES))
    client.set_grant_types([Client.GrantType.AUTHORIZATION_CODE, Client.GrantType.REFRESH_TOKEN])
    client.full_clean()
    client.save()
    application = Application.objects.create(
        client=client,
        name=name,
        offered_access_modes=list(modes),
        secret_digest=_digest(secret),
        signing_secret=secret,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        target=application,
        action="application_created",
        changes={"name": name, "redirect_uris": redirect_uris, "offered_access_modes": list(modes)},
    )
    return application, secret


@transaction.atomic
def application_update(
    *, application: Application, redirect_uris: list[str], offered_access_modes: list[str], actor: User | None
) -> Application:
    unknown = set(offered_access_modes) - set(AccessMode.values)
    if unknown:
        raise ValueError(f"Unknown access modes: {sorted(unknown)}")
    changes: dict[str, Any] = {}
    if application.client.get_redirect_uris() != redirect_uris:
        changes["redirect_uris"] = redirect_uris
        application.client.set_redirect_uris(redirect_uris)
        application.client.save(update_fields=["redirect_uris"])
    if application.offered_access_modes != offered_access_modes:
        changes["offered_access_modes"] = [application.offered_access_modes, offered_access_modes]
        application.offered_access_modes = offered_access_modes
        application.save(update_fields=["offered_access_modes"])
    if changes:
        audit_record(actor=actor, target=application, action="application_updated", changes=changes)
    return application


@transaction.atomic
def application_set_secret(*, application: Application, secret: str) -> Application:
    """Give the application a chosen secret (the demo's is derived, so every seeding prints the same)."""
    application.client.set_secret(secret)
    application.client.save(update_fields=["secret"])
    application.secret_digest = _digest(secret)
    application.signing_secret = secret
    application.save(update_fields=["secret_digest", "signing_secret"])
    return application


@transaction.atomic
def tokens_issue_for(*, application: Application, user: User, scopes: list[str]) -> TokenSet:
    """Tokens as a developer dashboard hands them out for a test account, without a consent flow."""
    grant = _grant_for(application, user, scopes, actor=Actor.system("test tokens issued without a consent flow"))
    _revoke_grant_tokens(grant)
    access, refresh = _issue_tokens(grant)
    return TokenSet(access_token=access, refresh_token=refresh, grant=grant)


def application_by_credentials(*, client_id: str, client_secret: str) -> Application | None:
    """The application these credentials belong to (one indexed lookup, constant-time comparison)."""
    if not client_id or not client_secret:
        return None
    application = Application.objects.select_related("client").filter(client_id=client_id).first()
    if application is None or not secrets.compare_digest(application.secret_digest, _digest(client_secret)):
        return None
    return application


def application_by_secret(client_secret: str) -> Application | None:
    """Cronofy's application-level calls send only the secret (`Authorization: Bearer <client_secret>`).

    Every such call looks its caller up, so the query is written by hand (building the ORM's took
    twice as long as running it); the client row is not joined (the API never needs it) and the signing
    secret is left unread (decrypting it is for signing notifications)."""
    if not client_secret:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_application_by_digest_sql(connection.vendor), [_digest(client_secret)])
        row = cursor.fetchone()
    return None if row is None else _APPLICATION_BY_SECRET.build(connection, row)


_APPLICATION_BY_SECRET = SelectedModel(Application, defer=["signing_secret"])


@functools.cache
def _application_by_digest_sql(vendor: str) -> str:
    columns = _APPLICATION_BY_SECRET.columns_sql(connection)
    digest = column_sql(connection, Application, "secret_digest")
    return f"SELECT {columns} FROM {table_sql(connection, Application)} WHERE {digest} = %s"  # noqa: S608  # names from the model


def redirect_uri_allowed(application: Application, redirect_uri: str) -> bool:
    return bool(redirect_uri) and redirect_uri in application.client.get_redirect_uris()


#
# Codes
#


def authorization_code_issue(
    *,
    application: Application,
    user: User,
    scopes: list[str],
    redirect_uri: str,
    profile_id: int,
    service_account: ServiceAccount | None = None,
) -> str:
    """A code the integrator exchanges for tokens; it remembers the profile this consent linked, and the
    service account whose grant covers the person when no consent of theirs was asked (Enterprise Connect)."""
    value = _new_value()
    data: dict[str, Any] = {"redirect_uri": redirect_uri, "profile": profile_id, "used": False}
    if service_account is not None:
        data["service_account"] = service_account.pk
    token = Token(
        type=Token.Type.AUTHORIZATION_CODE,
        client=application.client,
        user=user,
        expires_at=timezone.now() + CODE_LIFETIME,
        data=data,
    )
    token.set_value(value)
    token.set_scopes(scopes)
    token.save()
    return value


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    grant: Grant
    linking_profile_id: int | None = None  # the calendar profile the consent behind a code linked

    def as_cronofy(self, *, linking_profile: dict[str, str] | None = None) -> dict[str, Any]:
        user = self.grant.user
        body: dict[str, Any] = {
            "token_type": "bearer",
            "access_token": self.access_token,
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "refresh_token": self.refresh_token,
            "scope": " ".join(self.grant.scopes),
            "account_id": user.public_id,
            "sub": user.public_id,
        }
        if linking_profile is not None:
            body["linking_profile"] = linking_profile
        return body


def _issue_tokens(grant: Grant) -> tuple[str, str]:
    access, refresh = _new_value(), _new_value()
    now = timezone.now()
    for kind, value, expires_at in (
        (Token.Type.ACCESS_TOKEN, access, now + ACCESS_TOKEN_LIFETIME),
        (Token.Type.REFRESH_TOKEN, refresh, None),
    ):
        token = Token(
            type=kind, client=grant.application.client, user=grant.user, expires_at=expires_at, data={"grant": grant.pk}
        )
        token.set_value(value)
        token.set_scopes(grant.scopes)
        token.save()
    return access, refresh


def _grant_for(
    application: Application,
    user: User,
    scopes: list[str],
    *,
    actor: User | Actor | None = None,
    service_account: ServiceAccount | None = None,
) -> Grant:
    """The live grant of the application for the account, made or brought to these scopes. Through a
    service account the grant is the organization's (it ends with the service account); a person's own
    consent afterwards makes it theirs again."""
    expanded = sorted(api_scopes.expand(scopes))
    grant = (
        Grant.objects.select_for_update().filter(application=application, user=user, revoked_at__isnull=True).first()
    )
    if grant is None:
        grant = Grant.objects.create(
            application=application, user=user, scopes=expanded, service_account=service_account
        )
        changes: dict[str, Any] = {"application": application.name, "scopes": expanded}
        if service_account is not None:
            changes["covered_by"] = f"{service_account.organization.name}'s Enterprise Connect grant"
            changes["service_account"] = service_account.public_id
        audit_record(
            actor=actor or user,
            target=grant,
            action="application_authorized",
            organization=service_account.organization if service_account else None,
            changes=changes,
        )
    elif grant.scopes != expanded or grant.service_account_id != (service_account.pk if service_account else None):
        grant.scopes = expanded
        grant.service_account = service_account
        grant.save(update_fields=["scopes", "service_account", "updated_at"])
    return grant


def token_exchange_code(*, application: Application, code: str, redirect_uri: str) -> TokenSet | ServiceAccountTokenSet:
    replayed_grant_id = None
    with transaction.atomic():
        row = (
            Token.objects.select_for_update()
            .by_value(code)
            .filter(type=Token.Type.AUTHORIZATION_CODE, client=application.client)
            .first()
        )
        if row is not None and row.data.get("used"):
            replayed_grant_id = row.data.get("grant")
        else:
            return _exchange(application, row, redirect_uri)
    # A replayed code: RFC 6749 says to revoke what it produced (committed, then refused).
    _revoke_grant_tokens(Grant.objects.filter(pk=replayed_grant_id).select_related("application__client").first())
    raise OAuthError("invalid_grant", "The authorization code has already been used.")


def _exchange(application: Application, row: Token | None, redirect_uri: str) -> TokenSet | ServiceAccountTokenSet:
    if row is None or row.expires_at is None or row.expires_at <= timezone.now():
        raise OAuthError("invalid_grant", "The authorization code is unknown or expired.")
    if redirect_uri != row.data.get("redirect_uri"):
        raise OAuthError("invalid_grant", "The redirect_uri does not match the one of the authorization request.")
    if row.data.get("kind") == SERVICE_ACCOUNT_KIND:
        return _exchange_service_account(application, row)
    service_account = None
    if row.data.get("service_account"):
        service_account = live_service_accounts().filter(pk=row.data["service_account"]).first()
        if service_account is None:
            raise OAuthError("invalid_grant", "The organization's grant behind this code has been revoked.")
    grant = _grant_for(
        application,
        row.user,
        row.get_scopes(),
        actor=Actor.system(f"{service_account.organization.name}'s Enterprise Connect grant")
        if service_account
        else None,
        service_account=service_account,
    )
    row.data = {**row.data, "used": True, "grant": grant.pk}
    row.save(update_fields=["data"])
    access, refresh = _issue_tokens(grant)
    return TokenSet(access_token=access, refresh_token=refresh, grant=grant, linking_profile_id=row.data.get("profile"))


@transaction.atomic(durable=True)
def token_refresh(*, application: Application, refresh_token: str) -> TokenSet | ServiceAccountTokenSet:
    row = (
        Token.objects.select_for_update(of=("self",))
        .valid()
        .by_value(refresh_token)
        .filter(type=Token.Type.REFRESH_TOKEN, client=application.client)
        .select_related("user")
        .first()
    )
    if row is not None and (row.data or {}).get("kind") == SERVICE_ACCOUNT_KIND:
        service_account = live_service_accounts().filter(pk=row.data.get("service_account")).first()
        if service_account is None:
            raise OAuthError("invalid_grant", "The refresh token is unknown or revoked.")
        row.delete()
        return _issue_service_account_tokens(service_account)
    grant_id = _token_grant_id(row) if row else None
    grant = live_grants().filter(pk=grant_id).first() if grant_id is not None else None
    if row is None or grant is None or not row.user.is_active:
        raise OAuthError("invalid_grant", "The refresh token is unknown or revoked.")
    row.delete()  # rotated: the new refresh token replaces it
    access, refresh = _issue_tokens(grant)
    return TokenSet(access_token=access, refresh_token=refresh, grant=grant)


def _token_grant_id(row: Token) -> int | None:
    """The grant a user token was issued under: kept in the token's `data` (None on a token without one)."""
    grant_id: int | None = (row.data or {}).get("grant")
    return grant_id


def _revoke_grant_tokens(grant: Grant | None) -> None:
    if grant is None:
        return
    Token.objects.filter(
        client=grant.application.client, user=grant.user, type__in=[Token.Type.ACCESS_TOKEN, Token.Type.REFRESH_TOKEN]
    ).delete()


@transaction.atomic(durable=True)
def grant_revoke(*, application: Application, token: str = "", sub: str = "") -> bool:
    """Revoke the application's authorization for an account, found by one of its tokens or by `sub`.

    Returns whether there was one. Unknown tokens are not an error (RFC 7009).
    """
    service_account = _service_account_named(application, token=token, sub=sub)
    if service_account is not None:
        return service_account_revoke(service_account=service_account, actor=Actor.of_application(application))
    user: User | None = None
    if token:
        row = (
            Token.objects.by_value(token)
            .filter(client=application.client, type__in=[Token.Type.ACCESS_TOKEN, Token.Type.REFRESH_TOKEN])
            .select_related("user")
            .first()
        )
        user = row.user if row else None
    elif sub:
        user = User.objects.filter(public_id=sub).first()
    if user is None:
        return False
    grant = Grant.objects.filter(application=application, user=user, revoked_at__isnull=True).first()
    if grant is None:
        return False
    _revoke_grant_tokens(grant)
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        actor=Actor.of_application(application, on_behalf_of=user),
        target=grant,
        action="application_revoked",
        organization=None,
        changes={"application": application.name},
    )
    return True


@transaction.atomic(durable=True)
def grant_revoke_by_person(*, grant: Grant, actor: User) -> Grant:
    """A person takes an application's access to their account away (on their own page): every token
    of the grant ends at once, and the application's channels with it."""
    grant = Grant.objects.select_for_update(of=("self",)).select_related("application__client", "user").get(pk=grant.pk)
    if grant.user_id != actor.pk:
        raise PermissionError("Only the account's owner revokes its grants here.")
    if grant.revoked_at is not None:
        return grant
    _revoke_grant_tokens(grant)
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        actor=actor,
        target=grant,
        action="application_revoked",
        organization=None,
        changes={"application": grant.application.name, "by": "person"},
    )
    return grant


@transaction.atomic
def grants_revoke_all_of_user(*, user: User, reason: str) -> int:
    """End every application's access to the account (an offboarded person): each grant revoked with
    its tokens, audited. Returns how many grants were live."""
    grants = list(
        Grant.objects.select_for_update()
        .filter(user=user, revoked_at__isnull=True)
        .select_related("application__client")
    )
    now = timezone.now()
    for grant in grants:
        _revoke_grant_tokens(grant)
        grant.revoked_at = now
        grant.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            actor=None,
            target=grant,
            action="application_revoked",
            organization=None,
            changes={"application": grant.application.name, "reason": reason},
        )
    return len(grants)


#
# Authenticating API calls
#


# What a person's grants can do depends on more than the grants: a calendar in Free/Busy mode has no
# events to read, whatever an application was granted. A higher layer (calendars) registers, in its
# apps.py ready(), which scopes it may withhold and a function of the account that says which it
# withholds now; it is asked at request time, so a change of mode applies to every token at once.
WithheldScopes = Callable[[User, Grant | None], frozenset[str]]
_WITHHOLDING: list[tuple[frozenset[str], WithheldScopes]] = []


def register_withheld_scopes(*, restrictable: frozenset[str], withheld: WithheldScopes) -> None:
    """Let `withheld(user, grant)` take scopes among `restrictable` away from the account's grants (the
    grant given, with the profiles it gave up left out; or every grant of the account)."""
    _WITHHOLDING.append((restrictable, withheld))


def withheld_scopes(*, user: User, grant: Grant | None = None) -> frozenset[str]:
    """The scopes the grant (or any grant of the account) cannot use at the moment."""
    return frozenset().union(*(withheld(user, grant) for _, withheld in _WITHHOLDING))


@dataclass(frozen=True)
class AccessContext:
    """Who an access token speaks for, for which application, with which scopes.

    `scopes` are the token's; `allows` also asks what the account's calendars allow now, and only
    for scopes that can be withheld (so other checks cost no query).
    """

    user: User
    application: Application
    grant: Grant
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        if scope not in self.scopes:
            return False
        if not any(scope in restrictable for restrictable, _ in _WITHHOLDING):
            return True
        return scope not in self.withheld

    @functools.cached_property
    def withheld(self) -> frozenset[str]:
        return withheld_scopes(user=self.user, grant=self.grant)


def access_token_authenticate(value: str) -> AccessContext | None:
    """The context an account's access token speaks in, or None if it is unknown, expired, of an
    inactive account, or its grant (or the service account behind it) was revoked.

    Every account-level call runs this, so it is one hand-written query: the ORM's two (token with its
    account and application, then the grant the token names in its `data`) cost 3.0 ms, mostly in
    building them, against 0.8 ms of database time. The grant must also be the token's account's and
    application's, and the application's signing secret is left unread (it is for signing
    notifications)."""
    if not value:
        return None
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            _access_token_sql(connection.vendor), [Token.Type.ACCESS_TOKEN, get_adapter().hash_token(value), now]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    user_part, application_part, grant_part, service_account_part = split_row(row[1:], _ACCESS_TOKEN_MODELS)
    user = _ACCESS_TOKEN_USER.build(connection, user_part)
    application = _ACCESS_TOKEN_APPLICATION.build(connection, application_part)
    grant = _ACCESS_TOKEN_GRANT.build(connection, grant_part)
    grant.user, grant.application = user, application
    if grant.service_account_id is not None:
        grant.service_account = _ACCESS_TOKEN_SERVICE_ACCOUNT.build(connection, service_account_part)
    scopes = frozenset(Token(scopes=row[0]).get_scopes())
    return AccessContext(user=user, application=application, grant=grant, scopes=scopes)


# The models an access token's query reads, in its column order after the token's scopes.
_ACCESS_TOKEN_USER = SelectedModel(User)
_ACCESS_TOKEN_APPLICATION = SelectedModel(Application, defer=["signing_secret"])
_ACCESS_TOKEN_GRANT = SelectedModel(Grant)
_ACCESS_TOKEN_SERVICE_ACCOUNT = SelectedModel(ServiceAccount)
_ACCESS_TOKEN_MODELS = (
    _ACCESS_TOKEN_USER,
    _ACCESS_TOKEN_APPLICATION,
    _ACCESS_TOKEN_GRANT,
    _ACCESS_TOKEN_SERVICE_ACCOUNT,
)


@functools.cache
def _access_token_sql(vendor: str) -> str:
    """The access token's query for this database (`vendor`); values are parameters: the token type,
    its hash and the time now. Its last two conditions are `live_grants()`'s, written out."""
    token, user, application, grant, service_account = (
        table_sql(connection, model) for model in (Token, User, Application, Grant, ServiceAccount)
    )

    def column(model: type[Model], name: str) -> str:
        return column_sql(connection, model, name)

    selected = ", ".join(model.columns_sql(connection) for model in _ACCESS_TOKEN_MODELS)
    grant_named = json_integer_sql(connection, column(Token, "data"), "grant")
    return (
        f"SELECT {column(Token, 'scopes')}, {selected} FROM {token} "  # noqa: S608  # names from the models; values as parameters
        f"JOIN {user} ON {column(User, 'id')} = {column(Token, 'user')} "
        f"JOIN {application} ON {column(Application, 'client')} = {column(Token, 'client')} "
        f"JOIN {grant} ON {column(Grant, 'id')} = {grant_named} AND {column(Grant, 'user')} = {column(Token, 'user')} "
        f"AND {column(Grant, 'application')} = {column(Application, 'id')} "
        f"LEFT JOIN {service_account} ON {column(ServiceAccount, 'id')} = {column(Grant, 'service_account')} "
        f"WHERE {column(Token, 'type')} = %s AND {column(Token, 'hash')} = %s "
        f"AND ({column(Token, 'expires_at')} IS NULL OR {column(Token, 'expires_at')} > %s) "
        f"AND {column(User, 'is_active')} AND {column(Grant, 'revoked_at')} IS NULL "
        f"AND ({column(Grant, 'service_account')} IS NULL OR {column(ServiceAccount, 'revoked_at')} IS NULL)"
    )


#
# Enterprise Connect: service accounts
#

SERVICE_ACCOUNT_KIND = "service_account"


def live_grants() -> QuerySet[Grant]:
    """Grants that still stand: not revoked, and not under a revoked service account. Checked on every
    request, so revoking a service account ends every token delegated under it at once."""
    return Grant.objects.filter(revoked_at__isnull=True).filter(
        Q(service_account__isnull=True) | Q(service_account__revoked_at__isnull=True)
    )


def live_service_accounts() -> QuerySet[ServiceAccount]:
    return ServiceAccount.objects.filter(revoked_at__isnull=True).select_related("organization", "application")


@transaction.atomic
def service_account_create(
    *,
    organization: Any,
    application: Application,
    scopes: list[str],
    delegated_scopes: list[str],
    access_mode: str = "",
    actor: User | None,
) -> ServiceAccount:
    """An organization's admin lets an application reach its people up to `delegated_scopes` (Enterprise
    Connect). A live decision for the same application is replaced, not duplicated."""
    unknown = [scope for scope in delegated_scopes if scope not in api_scopes.DELEGABLE_SCOPES]
    unknown += [scope for scope in scopes if scope not in api_scopes.SERVICE_ACCOUNT_SCOPES]
    if unknown or not delegated_scopes or not scopes:
        raise ValueError(f"Unknown or missing scopes: {unknown or 'none given'}")
    if access_mode and access_mode not in api_scopes.FREE_BUSY_WRITE_MODES:
        raise ValueError(f"Unknown access mode for free_busy_write: {access_mode}")
    if api_scopes.FREE_BUSY_WRITE not in delegated_scopes:
        access_mode = ""  # the choice exists only for free_busy_write
    service_account = (
        ServiceAccount.objects.select_for_update()
        .filter(organization=organization, application=application, revoked_at__isnull=True)
        .first()
    )
    changes = {"application": application.name, "scopes": scopes, "delegated_scope": delegated_scopes}
    if access_mode:
        changes["access_mode"] = access_mode
    if service_account is None:
        service_account = ServiceAccount.objects.create(
            organization=organization,
            application=application,
            scopes=scopes,
            delegated_scopes=delegated_scopes,
            access_mode=access_mode,
            granted_by=actor,
        )
        action = "service_account_granted"
    else:
        service_account.scopes, service_account.delegated_scopes = scopes, delegated_scopes
        service_account.access_mode, service_account.granted_by = access_mode, actor
        service_account.save()
        action = "service_account_changed"
    audit_record(actor=actor, target=service_account, action=action, organization=organization, changes=changes)
    return service_account


@transaction.atomic
def service_account_revoke(*, service_account: ServiceAccount, actor: User | Actor | None) -> bool:
    """End the organization's grant: its own tokens go now, and every token delegated under it stops
    authenticating at once (authentication checks the service account; nothing is walked)."""
    service_account = ServiceAccount.objects.select_for_update().get(pk=service_account.pk)
    if service_account.revoked_at is not None:
        return False
    service_account.revoked_at = timezone.now()
    service_account.save(update_fields=["revoked_at", "updated_at"])
    Token.objects.filter(client=service_account.application.client, data__service_account=service_account.pk).delete()
    audit_record(
        actor=actor,
        target=service_account,
        action="service_account_revoked",
        organization=service_account.organization,
        changes={"application": service_account.application.name},
    )
    return True


def service_account_code_issue(*, service_account: ServiceAccount, redirect_uri: str, user: User) -> str:
    """The code `/enterprise_connect/oauth/authorize` hands back; it exchanges for the service account's token."""
    value = _new_value()
    token = Token(
        type=Token.Type.AUTHORIZATION_CODE,
        client=service_account.application.client,
        user=user,
        expires_at=timezone.now() + CODE_LIFETIME,
        data={
            "kind": SERVICE_ACCOUNT_KIND,
            "redirect_uri": redirect_uri,
            "service_account": service_account.pk,
            "used": False,
        },
    )
    token.set_value(value)
    token.set_scopes(service_account.scopes)
    token.save()
    return value


@dataclass(frozen=True)
class ServiceAccountTokenSet:
    access_token: str
    refresh_token: str
    service_account: ServiceAccount
    linking_profile_id: None = None

    def as_cronofy(self, *, linking_profile: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "token_type": "bearer",
            "access_token": self.access_token,
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "refresh_token": self.refresh_token,
            "scope": " ".join(self.service_account.scopes),
            "sub": self.service_account.public_id,
        }


def _issue_service_account_tokens(service_account: ServiceAccount) -> ServiceAccountTokenSet:
    access, refresh = _new_value(), _new_value()
    now = timezone.now()
    for kind, value, expires_at in (
        (Token.Type.ACCESS_TOKEN, access, now + ACCESS_TOKEN_LIFETIME),
        (Token.Type.REFRESH_TOKEN, refresh, None),
    ):
        token = Token(
            type=kind,
            client=service_account.application.client,
            user=None,  # a service account is nobody's account: account endpoints never accept its tokens
            expires_at=expires_at,
            data={"kind": SERVICE_ACCOUNT_KIND, "service_account": service_account.pk},
        )
        token.set_value(value)
        token.set_scopes(service_account.scopes)
        token.save()
    return ServiceAccountTokenSet(access_token=access, refresh_token=refresh, service_account=service_account)


@transaction.atomic
def service_account_tokens_issue(*, service_account: ServiceAccount) -> ServiceAccountTokenSet:
    """Tokens for a service account granted in the console (no authorize round trip): the integrator's
    developer hands them to its product, as a dashboard would. They replace the ones handed out before."""
    Token.objects.filter(
        client=service_account.application.client,
        type__in=[Token.Type.ACCESS_TOKEN, Token.Type.REFRESH_TOKEN],
        data__service_account=service_account.pk,
    ).delete()
    return _issue_service_account_tokens(service_account)


def _exchange_service_account(application: Application, row: Token) -> ServiceAccountTokenSet:
    service_account = (
        live_service_accounts().filter(pk=row.data.get("service_account"), application=application).first()
    )
    if service_account is None:
        raise OAuthError("invalid_grant", "The service account behind this code has been revoked.")
    row.data = {**row.data, "used": True}
    row.save(update_fields=["data"])
    return _issue_service_account_tokens(service_account)


def _service_account_named(application: Application, *, token: str, sub: str) -> ServiceAccount | None:
    if sub:
        return live_service_accounts().filter(application=application, public_id=sub).first()
    row = (
        Token.objects.by_value(token)
        .filter(client=application.client, type__in=[Token.Type.ACCESS_TOKEN, Token.Type.REFRESH_TOKEN])
        .first()
    )
    if row is None or (row.data or {}).get("kind") != SERVICE_ACCOUNT_KIND:
        return None
    return live_service_accounts().filter(application=application, pk=row.data.get("service_account")).first()


@dataclass(frozen=True)
class ServiceAccountContext:
    """Who a service account's token speaks for: an organization's grant to an application."""

    service_account: ServiceAccount
    application: Application
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return api_scopes.service_account_allows(self.scopes, scope)


def service_account_token_authenticate(value: str) -> ServiceAccountContext | None:
    """The live service account an access token belongs to, or None (not such a token, expired, revoked)."""
    if not value:
        return None
    row = Token.objects.valid().by_value(value).filter(type=Token.Type.ACCESS_TOKEN).first()
    if row is None or (row.data or {}).get("kind") != SERVICE_ACCOUNT_KIND:
        return None
    service_account = (
        live_service_accounts().filter(pk=row.data.get("service_account"), application__client=row.client_id).first()
    )
    if service_account is None:
        return None
    return ServiceAccountContext(
        service_account=service_account, application=service_account.application, scopes=frozenset(row.get_scopes())
    )
