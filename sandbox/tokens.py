"""Codes, access and refresh tokens, and signed id_tokens, as the providers issue them."""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
import time
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.utils import timezone

from core.rsa_keys import new_rsa_private_key
from sandbox.models import (
    MeetingAccount,
    MeetingApp,
    MeetingToken,
    MeetingUser,
    OAuthClient,
    Person,
    Provider,
    SigningKey,
    Tenant,
    Token,
)

ACCESS_TOKEN_SECONDS = 3599
CODE_SECONDS = 600
REFRESH_TOKEN_DAYS = 180

# Cosmetic prefixes, so a token in a log or a test failure says where it came from.
# Keyed by plain strings: callers pass the provider and kind as stored (TextChoices are str).
_PREFIXES: dict[tuple[str, str], str] = {
    (Provider.GOOGLE, Token.Kind.CODE): "4/0sbx",
    (Provider.GOOGLE, Token.Kind.ACCESS): "ya29.sbx",
    (Provider.GOOGLE, Token.Kind.REFRESH): "1//0sbx",
    (Provider.MICROSOFT, Token.Kind.CODE): "0.ASbx",
    (Provider.MICROSOFT, Token.Kind.REFRESH): "M.C5sbx",
    (Provider.ZOOM, Token.Kind.CODE): "zsbxc",
    (Provider.ZOOM, Token.Kind.ACCESS): "eyJzbx",
    (Provider.ZOOM, Token.Kind.REFRESH): "eyJzbxr",
    (Provider.WEBEX, Token.Kind.CODE): "WbxC",
    (Provider.WEBEX, Token.Kind.ACCESS): "WbxA",
    (Provider.WEBEX, Token.Kind.REFRESH): "WbxR",
    (Provider.SUCCESSFACTORS, Token.Kind.ACCESS): "eyJ0b2tlbkNvbnRlbnQsbx",
}
# Webex integrations' access tokens last 14 days and their refresh tokens 90 (per Webex's samples).
WEBEX_ACCESS_SECONDS = 14 * 86400 - 1
WEBEX_REFRESH_SECONDS = 90 * 86400 - 1


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue(
    *,
    kind: str,
    provider: str,
    client: OAuthClient,
    scopes: list[str],
    person: Person | None = None,
    tenant: Tenant | None = None,
    refresh: Token | None = None,
    seconds: int | None = None,
    **fields: Any,
) -> tuple[str, Token]:
    """A new token of this kind; returns the value (shown once) and its row."""
    if provider == Provider.MICROSOFT and kind == Token.Kind.ACCESS:
        value = _microsoft_access_token(
            client=client, person=person, tenant=tenant or (person.tenant if person else None), scopes=scopes
        )
    else:
        value = f"{_PREFIXES[(provider, kind)]}-{secrets.token_urlsafe(32)}"
    if seconds is None:
        seconds_by_kind: dict[str, int] = {Token.Kind.CODE: CODE_SECONDS, Token.Kind.ACCESS: ACCESS_TOKEN_SECONDS}
        seconds = seconds_by_kind.get(kind, REFRESH_TOKEN_DAYS * 86400)
    row = Token.objects.create(
        kind=kind,
        value_hash=token_hash(value),
        provider=provider,
        client=client,
        person=person,
        tenant=tenant or (person.tenant if person else None),
        scopes=list(scopes),
        refresh=refresh,
        expires_at=timezone.now() + timedelta(seconds=seconds),
        **fields,
    )
    return value, row


def issue_code(
    *, provider: str, client: OAuthClient, person: Person, scopes: list[str], params: dict[str, str], offline: bool
) -> str:
    """An authorization code remembering what the token request must match (redirect URI, PKCE, nonce)."""
    value, _ = issue(
        kind=Token.Kind.CODE,
        provider=provider,
        client=client,
        person=person,
        scopes=scopes,
        redirect_uri=params["redirect_uri"],
        code_challenge=params.get("code_challenge", ""),
        code_challenge_method=params.get("code_challenge_method") or "plain",
        nonce=params.get("nonce", ""),
        offline=offline,
    )
    return value


def _microsoft_access_token(
    *, client: OAuthClient, person: Person | None, tenant: Tenant | None, scopes: list[str]
) -> str:
    """Entra issues Graph access tokens as JWTs: delegated ones carry `scp`, application ones `roles`.
    Clients may read the claims (an admin-consent check does); only Graph validates the signature."""
    key = signing_key()
    now = int(time.time())
    tid = tenant.external_id if tenant else ""
    claims: dict[str, Any] = {
        "aud": "https://graph.microsoft.com",
        "iss": f"https://sts.windows.net/{tid}/",
        "iat": now,
        "nbf": now,
        "exp": now + ACCESS_TOKEN_SECONDS,
        "tid": tid,
        "appid": client.client_id,
        "ver": "1.0",
        "uti": secrets.token_urlsafe(16),
    }
    if person is not None:
        claims.update(oid=person.external_id, upn=person.email, scp=" ".join(scopes))
    else:
        claims.update(oid=client.client_id, roles=list(scopes), idtyp="app")
    return jwt.encode(claims, loaded_private_key(key.key["private"]), algorithm="RS256", headers={"kid": key.kid})


def find(value: str, *, kind: str, provider: str) -> Token | None:
    if not value:
        return None
    return (
        Token.objects.select_related("client", "person__tenant", "tenant", "refresh", "hr_user")
        .filter(value_hash=token_hash(value), kind=kind, provider=provider)
        .first()
    )


def revoke(token: Token) -> None:
    """Revoke a token; revoking a refresh token revokes the access tokens minted from it."""
    now = timezone.now()
    with transaction.atomic():
        Token.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        if token.kind == Token.Kind.REFRESH:
            Token.objects.filter(refresh=token, revoked_at__isnull=True).update(revoked_at=now)


def revoke_all_for(person: Person) -> int:
    """What a user revoking the application's access does: every grant of theirs stops working."""
    return Token.objects.filter(person=person, revoked_at__isnull=True).update(revoked_at=timezone.now())


def pkce_matches(*, challenge: str, method: str, verifier: str) -> bool:
    if not challenge:
        return True  # PKCE was not used for this code
    if not verifier:
        return False
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return secrets.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), challenge)
    return secrets.compare_digest(verifier, challenge)


#
# id_tokens
#


def rsa_key_pair() -> tuple[str, str]:
    """A new RSA key: (private key PEM, public key PEM)."""
    private = new_rsa_private_key()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@functools.lru_cache(maxsize=16)
def loaded_private_key(private_pem: str) -> rsa.RSAPrivateKey:
    """A signing key's PEM loaded once per process: loading checks the key, which cost more than the
    signature on every token the sandbox issued."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):  # rsa_key_pair() makes every key the sandbox stores
        raise TypeError("The sandbox signs with RSA keys only.")
    return key


def signing_key() -> SigningKey:
    key = SigningKey.objects.order_by("-created_at").first()
    if key is not None:
        return key
    private_pem, public_pem = rsa_key_pair()
    # core's EncryptedJSONField declares no Python type, so the stubs take its TextField base's (str); it holds a dict.
    return SigningKey.objects.create(
        kid=secrets.token_hex(8),
        key={"private": private_pem, "public": public_pem},  # type: ignore[misc]
    )


def jwks() -> dict[str, Any]:
    keys = []
    for key in SigningKey.objects.order_by("-created_at"):
        public = serialization.load_pem_public_key(key.key["public"].encode())
        if not isinstance(public, rsa.RSAPublicKey):  # rsa_key_pair() makes every key the sandbox stores
            raise TypeError(f"Signing key {key.kid} is not an RSA key.")
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
        keys.append({**jwk, "kid": key.kid, "use": "sig", "alg": "RS256"})
    return {"keys": keys}


def id_token(
    *, issuer: str, audience: str, person: Person, nonce: str = "", extra: dict[str, Any] | None = None
) -> str:
    key = signing_key()
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": person.external_id,
        "email": person.email,
        "name": person.name,
        "iat": now,
        "nbf": now,
        "exp": now + ACCESS_TOKEN_SECONDS,
        **(extra or {}),
    }
    if nonce:
        claims["nonce"] = nonce
    return jwt.encode(claims, loaded_private_key(key.key["private"]), algorithm="RS256", headers={"kid": key.kid})


#
# Zoom and Webex
#


def issue_meeting_token(
    *,
    kind: str,
    app: MeetingApp,
    account: MeetingAccount,
    scopes: list[str],
    user: MeetingUser | None = None,
    refresh: MeetingToken | None = None,
    seconds: int | None = None,
    redirect_uri: str = "",
) -> tuple[str, MeetingToken]:
    """A Zoom or Webex code or token; returns the value (shown once) and its row."""
    value = f"{_PREFIXES[(app.provider, kind)]}-{secrets.token_urlsafe(32)}"
    if seconds is None:
        if kind == Token.Kind.CODE:
            seconds = CODE_SECONDS
        elif app.provider == Provider.WEBEX:
            seconds = WEBEX_ACCESS_SECONDS if kind == Token.Kind.ACCESS else WEBEX_REFRESH_SECONDS
        else:
            seconds = ACCESS_TOKEN_SECONDS if kind == Token.Kind.ACCESS else REFRESH_TOKEN_DAYS * 86400
    row = MeetingToken.objects.create(
        kind=kind,
        value_hash=token_hash(value),
        app=app,
        account=account,
        user=user,
        scopes=list(scopes),
        refresh=refresh,
        redirect_uri=redirect_uri,
        expires_at=timezone.now() + timedelta(seconds=seconds),
    )
    return value, row


def find_meeting_token(value: str, *, kind: str, provider: str) -> MeetingToken | None:
    if not value:
        return None
    return (
        MeetingToken.objects.select_related("app", "account", "user", "refresh")
        .filter(value_hash=token_hash(value), kind=kind, app__provider=provider)
        .first()
    )


def revoke_meeting_token(token: MeetingToken) -> None:
    now = timezone.now()
    with transaction.atomic():
        MeetingToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        if token.kind == Token.Kind.REFRESH:
            MeetingToken.objects.filter(refresh=token, revoked_at__isnull=True).update(revoked_at=now)
