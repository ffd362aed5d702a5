"""Our DKIM signer (the `cryptography` package's RSA) against dkimpy: the same relaxed/relaxed
canonicalisation on awkward input, and signatures dkimpy verifies, over messages as they are sent."""

from __future__ import annotations

import dkim
import pytest
from django.core.mail.message import SafeMIMEMultipart, SafeMIMEText
from dkim.canonicalization import Relaxed

from bookings.dkim_signing import (
    DkimKey,
    dns_value,
    generate_private_key,
    header_fields,
    relaxed_body,
    relaxed_header,
    sign,
    signature_header,
)

KEY = DkimKey(domain="scheduling.example", selector="s2026", private_pem=generate_private_key())
OTHER_KEY = DkimKey(domain="scheduling.example", selector="s2026", private_pem=generate_private_key())

BODIES = [
    b"",
    b"\r\n",
    b"\r\n\r\n\r\n",
    b"one line",
    b"one line\r\n",
    b"trailing blanks \t \r\nand\t\ttabs  inside\r\n\r\n\r\n",
    b"  leading blanks kept as one\r\n",
    b"bare\nline feed\n\r\n",
    b"no final line ending \t",
    "caf\u00e9 \u2014 utf-8\r\n".encode(),
]
HEADERS = [
    (b"Subject", b" plain"),
    (b"Subject ", b"  blanks   before the colon and\t\tinside  "),
    (b"To", b" a@example.com,\r\n\tb@example.com,\r\n   c@example.com"),
    (b"X-Empty", b""),
    (b"From", b" =?utf-8?q?Nina_L=C3=A9gal?= <invitations@scheduling.example>"),
]


@pytest.mark.parametrize("body", BODIES)
def test_bodies_canonicalise_as_dkimpy_does(body):
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


@pytest.mark.parametrize(("name", "value"), HEADERS)
def test_headers_canonicalise_as_dkimpy_does(name, value):
    [(their_name, their_value)] = Relaxed.canonicalize_headers([(name, value)])
    assert relaxed_header(name, value) + b"\r\n" == their_name + b":" + their_value


def test_folded_header_fields_are_read_whole():
    head = b"To: a@example.com,\r\n b@example.com\r\nSubject: hi\r\n\tthere"
    assert header_fields(head) == [(b"To", b" a@example.com,\r\n b@example.com"), (b"Subject", b" hi\r\n\tthere")]


def dnsfunc(key: DkimKey):
    record = dns_value(key.private_pem).encode()
    return lambda name, timeout=5: record if name == f"{key.selector}._domainkey.{key.domain}.".encode() else None


def invitation_like(subject: str, body: str) -> SafeMIMEMultipart:
    message = SafeMIMEMultipart("mixed", encoding="utf-8")
    message.attach(SafeMIMEText(body, "plain", "utf-8"))
    message["Subject"] = subject
    message["From"] = '"Nina Légal (via Scheduling)" <invitations@scheduling.example>'
    message["To"] = "casey@example.com"
    message["Reply-To"] = "nina@legal.acme.example"
    message["Date"] = "Thu, 26 Nov 2026 01:00:00 -0000"
    message["Message-ID"] = "<abc.1rdeadbeef@replies.scheduling.example>"
    return message


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Invitation: Interview @ Wed 24 Mar 2027 10:00 UTC", "Hello\n\nSee you  there.  \n\n\n"),
        ("Réunion — " + "a long subject that mail folds over several lines " * 4, "Ünïcode body\twith tabs\n"),
        ("", ""),
    ],
)
def test_dkimpy_verifies_every_signature(subject, body):
    wire = invitation_like(subject, body).as_bytes(linesep="\r\n")
    signed = signature_header(wire, KEY) + wire
    assert dkim.verify(signed, dnsfunc=dnsfunc(KEY))
    assert b"h=from : to : subject : date : message-id : reply-to : mime-version : content-type;" in signed
    assert not dkim.verify(signed, dnsfunc=dnsfunc(OTHER_KEY))  # another key: refused
    tampered = signed.replace(b"casey@example.com", b"mallory@example.com")
    assert not dkim.verify(tampered, dnsfunc=dnsfunc(KEY))  # a signed header changed: refused


def test_a_signature_added_to_the_mime_message_verifies_after_serialising_again():
    message = invitation_like("Updated invitation: Interview", "Body\n")
    sign(message, KEY)
    assert dkim.verify(message.as_bytes(linesep="\r\n"), dnsfunc=dnsfunc(KEY))


def test_headers_the_message_lacks_are_not_listed():
    message = invitation_like("No reply address", "Body\n")
    del message["Reply-To"]
    wire = message.as_bytes(linesep="\r\n")
    header = signature_header(wire, KEY)
    assert b"reply-to" not in header
    assert all(len(line) <= 998 for line in header.split(b"\r\n"))
    assert dkim.verify(header + wire, dnsfunc=dnsfunc(KEY))
