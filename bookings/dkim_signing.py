"""DKIM signatures for outgoing invitations (RFC 6376, with dkimpy), so receiving servers can tell
they really come from the sending domain and DMARC aligns with the From address."""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from email.message import Message

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

SIGNED_HEADERS = [b"From", b"To", b"Subject", b"Date", b"Message-ID", b"Reply-To", b"MIME-Version", b"Content-Type"]


@dataclass(frozen=True, slots=True)
class DkimKey:
    domain: str
    selector: str
    private_pem: str

    def dns_record(self) -> tuple[str, str]:
        """The TXT record to publish: its name and its value."""
        return f"{self.selector}._domainkey.{self.domain}", dns_value(self.private_pem)


def generate_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def dns_value(private_pem: str) -> str:
    public = serialization.load_pem_private_key(private_pem.encode(), password=None).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


@functools.cache
def _platform_key(pem: str, domain: str, selector: str) -> DkimKey:
    return DkimKey(domain=domain, selector=selector, private_pem=pem)


def platform_key() -> DkimKey | None:
    """The installation's own key for INVITATIONS_FROM_EMAIL's domain, when one is configured."""
    pem = settings.INVITATIONS_DKIM_PRIVATE_KEY
    if not pem:
        return None
    domain = settings.INVITATIONS_FROM_EMAIL.rsplit("@", 1)[-1]
    return _platform_key(pem, domain, settings.INVITATIONS_DKIM_SELECTOR)


def sign(message: Message, key: DkimKey) -> None:
    """Add a DKIM-Signature header over the message as it will be sent (CRLF line endings)."""
    signature = dkim.sign(
        message.as_bytes(linesep="\r\n"),
        key.selector.encode(),
        key.domain.encode(),
        key.private_pem.encode(),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[h for h in SIGNED_HEADERS if message.get(h.decode()) is not None],
    )
    name, _, value = signature.decode().partition(":")
    message[name] = value.strip().replace("\r\n", "")
