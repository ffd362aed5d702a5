"""SAP SuccessFactors as a directory: the OData v2 `User` entity (status, email, names, department,
manager), paged by `__next`, incremental by `lastModifiedDateTime`, with an access token from the
OAuth 2.0 SAML bearer grant SuccessFactors documents for its OData API.

The SAML assertion is signed with signxml (XML Signature on lxml and cryptography, maintained and
released regularly), not hand-rolled canonicalization, and not python3-saml or pysaml2: both need the
xmlsec C library or binary, and python3-saml's last release is years old. The same library verifies
assertions in the sandbox.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information (no lxml-stubs here)
from signxml import XMLSigner, methods
from signxml.exceptions import InvalidInput

from calendars.providers.base import ProviderAuthError, ProviderError, ProviderPermissionError
from calendars.providers.http import ProviderSession
from calendars.providers.retry import retry_after_seconds, with_retries
from core.rsa_keys import new_rsa_private_key
from directory.providers.base import DirectoryPerson, DirectoryRoom, PeopleListing, PersonStatus, ProgressCallback

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
EXCLUSIVE_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
SAML_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"
AUDIENCE = "www.successfactors.com"
ASSERTION_MINUTES = 10
# Every status, or SuccessFactors answers with active users only.
ALL_STATUSES = "status in 't','f','T','F','e','d'"
ACTIVE_STATUSES = {"t", "T"}
SELECT = "userId,username,status,email,firstName,lastName,department,lastModifiedDateTime,manager/userId"
# Our clock and SuccessFactors' may disagree: incremental rounds look back this much further (a change
# seen twice is applied once).
CLOCK_SKEW = timedelta(minutes=5)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def saml_assertion(
    *, client_id: str, user_id: str, token_url: str, private_key_pem: str, certificate_pem: str, now: datetime
) -> str:
    """A signed SAML 2.0 assertion naming the API user, as SuccessFactors' token endpoint takes it
    (audience www.successfactors.com, the client's API key as the `api_key` attribute), base64-encoded."""
    assertion_id = f"_{uuid.uuid4().hex}"
    expires = _iso(now + timedelta(minutes=ASSERTION_MINUTES))
    root = etree.Element(
        f"{{{SAML}}}Assertion", nsmap={"saml2": SAML}, ID=assertion_id, IssueInstant=_iso(now), Version="2.0"
    )
    etree.SubElement(root, f"{{{SAML}}}Issuer").text = client_id
    # The signature goes right after the Issuer, where the SAML schema wants it.
    etree.SubElement(root, f"{{{DSIG}}}Signature", nsmap={"ds": DSIG}, Id="placeholder")
    subject = etree.SubElement(root, f"{{{SAML}}}Subject")
    etree.SubElement(
        subject, f"{{{SAML}}}NameID", Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    ).text = user_id
    confirmation = etree.SubElement(
        subject, f"{{{SAML}}}SubjectConfirmation", Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"
    )
    etree.SubElement(confirmation, f"{{{SAML}}}SubjectConfirmationData", NotOnOrAfter=expires, Recipient=token_url)
    conditions = etree.SubElement(
        root, f"{{{SAML}}}Conditions", NotBefore=_iso(now - timedelta(minutes=1)), NotOnOrAfter=expires
    )
    restriction = etree.SubElement(conditions, f"{{{SAML}}}AudienceRestriction")
    etree.SubElement(restriction, f"{{{SAML}}}Audience").text = AUDIENCE
    statement = etree.SubElement(root, f"{{{SAML}}}AuthnStatement", AuthnInstant=_iso(now), SessionIndex=assertion_id)
    context = etree.SubElement(statement, f"{{{SAML}}}AuthnContext")
    etree.SubElement(
        context, f"{{{SAML}}}AuthnContextClassRef"
    ).text = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    attributes = etree.SubElement(root, f"{{{SAML}}}AttributeStatement")
    attribute = etree.SubElement(attributes, f"{{{SAML}}}Attribute", Name="api_key")
    etree.SubElement(attribute, f"{{{SAML}}}AttributeValue").text = client_id
    try:
        signed = XMLSigner(method=methods.enveloped, c14n_algorithm=EXCLUSIVE_C14N).sign(
            root, key=private_key_pem.encode(), cert=certificate_pem, reference_uri=f"#{assertion_id}"
        )
    except (InvalidInput, ValueError, TypeError) as error:
        raise ProviderAuthError(f"The SuccessFactors signing key or certificate cannot be used: {error}") from None
    return base64.b64encode(etree.tostring(signed)).decode()


def generate_signing_pair(common_name: str, *, days: int = 730) -> tuple[str, str]:
    """A new RSA key and a self-signed certificate (PEM): the certificate goes into the OAuth client
    application an administrator registers in SuccessFactors, the key stays here, encrypted."""
    key = new_rsa_private_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


class SuccessFactorsDirectoryClient:
    """A SuccessFactors company's employees, read as its API user (`user_id`) by the OAuth client
    application `client_id` (the API key), whose registered certificate matches `certificate_pem`."""

    def __init__(
        self,
        *,
        api_url: str,
        company_id: str,
        client_id: str,
        user_id: str,
        private_key_pem: str,
        certificate_pem: str,
        page_size: int,
    ) -> None:
        self._api = api_url.rstrip("/")
        self._company, self._client_id, self._user_id = company_id, client_id, user_id
        self._key, self._certificate = private_key_pem, certificate_pem
        self._page_size = page_size
        self._http = ProviderSession()
        self._token: str | None = None

    def _access_token(self, *, force: bool = False) -> str:
        if self._token is not None and not force:
            return self._token
        token_url = f"{self._api}/oauth/token"
        assertion = saml_assertion(
            client_id=self._client_id,
            user_id=self._user_id,
            token_url=token_url,
            private_key_pem=self._key,
            certificate_pem=self._certificate,
            now=datetime.now(UTC),
        )

        def attempt() -> str:
            try:
                response = self._http.post(
                    token_url,
                    data={
                        "company_id": self._company,
                        "client_id": self._client_id,
                        "grant_type": SAML_BEARER,
                        "assertion": assertion,
                    },
                )
            except requests.RequestException as error:
                raise ProviderError(f"SuccessFactors unreachable: {type(error).__name__}", retryable=True) from None
            if response.status_code in (429, 500, 502, 503, 504):
                raise ProviderError(
                    f"SuccessFactors' token endpoint answered {response.status_code}",
                    retryable=True,
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                    status=response.status_code,
                )
            if response.status_code >= 400:
                try:
                    detail = response.json().get("error_description", "")
                except ValueError:
                    detail = ""
                raise ProviderAuthError(
                    f"SuccessFactors refused the SAML assertion ({response.status_code}): {detail}".strip(),
                    status=response.status_code,
                )
            return response.json()["access_token"]

        self._token = with_retries(attempt)
        return self._token

    def _get(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            for retry_auth in (False, True):
                try:
                    response = self._http.get(
                        url,
                        params=params,
                        headers={
                            "Authorization": f"Bearer {self._access_token(force=retry_auth)}",
                            "Accept": "application/json",
                        },
                    )
                except requests.RequestException as error:
                    raise ProviderError(f"SuccessFactors unreachable: {type(error).__name__}", retryable=True) from None
                if response.status_code == 401 and not retry_auth:
                    continue
                break
            status = response.status_code
            if status >= 400:
                message = f"SuccessFactors OData answered {status}"
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    message += f" {response.json()['error']['code']}"
                if status == 401:
                    raise ProviderAuthError(message, status=status)
                if status == 403:
                    raise ProviderPermissionError(message, status=status)
                raise ProviderError(
                    message,
                    retryable=status in (429, 500, 502, 503, 504),
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                    status=status,
                )
            return response.json()

        return with_retries(attempt)

    def verified_domains(self) -> list[str]:
        return []  # SuccessFactors proves no email domain: the organization's calendar services do

    @staticmethod
    def _person(item: dict[str, Any]) -> DirectoryPerson:
        manager = item.get("manager") or {}
        name = " ".join(part for part in (item.get("firstName"), item.get("lastName")) if part)
        return DirectoryPerson(
            external_id=item["userId"],
            email=(item.get("email") or "").lower(),
            name=name,
            status=PersonStatus.ACTIVE if item.get("status") in ACTIVE_STATUSES else PersonStatus.SUSPENDED,
            unit=item.get("department") or "",
            manager_id=manager.get("userId", "") if isinstance(manager, dict) else "",
        )

    def people(self, *, cursor: str | None, progress: ProgressCallback | None = None) -> PeopleListing:
        """Everyone, whatever their status; with a cursor (the moment the last round began), only users
        modified since."""
        started = datetime.now(UTC)
        expression = ALL_STATUSES
        if cursor:
            since = datetime.fromisoformat(cursor) - CLOCK_SKEW
            expression += f" and lastModifiedDateTime ge datetimeoffset'{_iso(since)}'"
        params: dict[str, Any] | None = {
            "$format": "json",
            "$select": SELECT,
            "$expand": "manager",
            "$filter": expression,
            "customPageSize": self._page_size,
        }
        url = f"{self._api}/odata/v2/User"
        pages: list[list[DirectoryPerson]] = []
        while url:
            body = self._get(url, params).get("d", {})
            pages.append([self._person(item) for item in body.get("results", [])])
            if progress is not None:
                progress(sum(len(page) for page in pages))
            url, params = body.get("__next", ""), None  # the next link carries the query
        return PeopleListing(pages=pages, full=not cursor, cursor=started.isoformat())

    def rooms(self) -> list[DirectoryRoom]:
        return []  # SuccessFactors holds people, not meeting rooms

    def missing_permissions(self) -> list[str]:
        try:
            self._get(f"{self._api}/odata/v2/User", {"$format": "json", "$select": "userId", "customPageSize": 1})
        except ProviderPermissionError:
            return [f"read access to the User entity for the API user {self._user_id} (a role-based permission)"]
        return []
