"""DKIM signatures for outgoing invitations (RFC 6376), so receiving servers can tell they really come
from the sending domain and DMARC aligns with the From address.

Signing is done here rather than by dkimpy: dkimpy's RSA is pure Python (about 9 ms a message, a third
of a sweep), while the `cryptography` package signs through OpenSSL in well under a millisecond. The
canonicalisation is relaxed/relaxed exactly as dkimpy does it (bookings/tests/test_dkim_signing.py
compares the two and has dkimpy verify every signature), and the signature is computed over the
message's bytes as they are sent, so the message is serialised once.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.core.mail.message import SafeMIMEMultipart

from core.rsa_keys import new_rsa_private_key

SIGNED_HEADERS = [b"From", b"To", b"Subject", b"Date", b"Message-ID", b"Reply-To", b"MIME-Version", b"Content-Type"]

_FOLDING = re.compile(rb"\r?\n")
_WHITESPACE = re.compile(rb"[\t ]+")
_TRAILING_WHITESPACE = re.compile(rb"[\t ]+\r\n")


@dataclass(frozen=True, slots=True)
class DkimKey:
    domain: str
    selector: str
    private_pem: str

    def dns_record(self) -> tuple[str, str]:
        """The TXT record to publish: its name and its value."""
        return f"{self.selector}._domainkey.{self.domain}", dns_value(self.private_pem)


def generate_private_key() -> str:
    key = new_rsa_private_key()
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


@functools.lru_cache(maxsize=256)
def _private_key(pem: str) -> rsa.RSAPrivateKey:
    # Parsing a PEM costs about as much as a signature: each key is loaded once per process.
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("DKIM keys are RSA keys.")
    return key


def relaxed_header(name: bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2 (as dkimpy does it): lower-case name, unfolded value, runs of blanks made one
    space, blanks around the colon and at the ends dropped; no line ending."""
    return name.lower().rstrip() + b":" + _WHITESPACE.sub(b" ", _FOLDING.sub(b"", value)).strip()


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4 (as dkimpy does it): blanks at line ends dropped, runs of blanks made one space,
    empty lines at the end dropped, a non-empty body ending in one CRLF."""
    if b"\t" in body or b"  " in body or b" \r\n" in body:  # most bodies have nothing to rewrite
        body = _WHITESPACE.sub(b" ", _TRAILING_WHITESPACE.sub(b"\r\n", body))
    while body.endswith(b"\r\n\r\n"):
        body = body[:-2]
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return b"" if body == b"\r\n" else body


def header_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header block's fields in order, as (name, value) with the value's folding kept."""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        elif line:
            name, _, value = line.partition(b":")
            fields.append((name, value))
    return fields


def _selected(fields: list[tuple[bytes, bytes]], wanted: list[bytes]) -> list[tuple[bytes, bytes]]:
    # RFC 6376 5.4.2: a name listed again signs the next instance up from the bottom (dkimpy's order).
    chosen: list[tuple[bytes, bytes]] = []
    last_index: dict[bytes, int] = {}
    for name in wanted:
        index = last_index.get(name, len(fields))
        while index > 0:
            index -= 1
            if fields[index][0].lower().rstrip() == name:
                chosen.append(fields[index])
                break
        last_index[name] = index
    return chosen


def signature_header(wire: bytes, key: DkimKey, *, timestamp: int | None = None) -> bytes:
    """The `DKIM-Signature:` field (folded, CRLF-terminated) to put in front of the message `wire`
    (its bytes as sent, CRLF line endings), relaxed/relaxed, rsa-sha256 over the headers of
    SIGNED_HEADERS that the message has."""
    head, _, body = wire.partition(b"\r\n\r\n")
    fields = header_fields(head)
    present = {name.lower().rstrip() for name, _ in fields}
    wanted = [name.lower() for name in SIGNED_HEADERS if name.lower() in present]
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
    domain, selector = key.domain.encode(), key.selector.encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp).encode()
    value = (
        b" v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + domain + b"; i=@" + domain + b"; q=dns/txt;\r\n"
        b" s=" + selector + b"; t=" + stamp + b";\r\n"
        b" h=" + b" : ".join(wanted) + b";\r\n"
        b" bh=" + body_hash + b";\r\n"
        b" b="
    )
    signed = b"".join(relaxed_header(name, field) + b"\r\n" for name, field in _selected(fields, wanted))
    signed += relaxed_header(b"DKIM-Signature", value)  # hashed without its line ending
    signature = _private_key(key.private_pem).sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return b"DKIM-Signature:" + value + base64.b64encode(signature) + b"\r\n"


def sign(message: SafeMIMEMultipart, key: DkimKey) -> None:
    """Add a DKIM-Signature header over the message as it will be sent (CRLF line endings: Django's MIME
    classes serialise with the line ending asked for, which the email package's own do not)."""
    header = signature_header(message.as_bytes(linesep="\r\n"), key)
    _, _, value = header.decode().partition(":")
    message["DKIM-Signature"] = value.strip().replace("\r\n", "")
