"""DNS lookups of other people's domains (dnspython), through DNS_NAMESERVERS when set (tests point it
at a local server): TXT records that prove a domain, DKIM keys, MX records."""

from __future__ import annotations

import dns.exception
import dns.resolver
from django.conf import settings


class DomainLookupFailed(Exception):
    """DNS could not be asked (timeout, no answer from any server): try again later."""


def resolver() -> dns.resolver.Resolver:
    configured = dns.resolver.Resolver(configure=not settings.DNS_NAMESERVERS)
    if settings.DNS_NAMESERVERS:
        hosts = [entry.rsplit(":", 1) for entry in settings.DNS_NAMESERVERS]
        configured.nameservers = [host for host, *_ in hosts]
        ports = {int(rest[0]) for _, *rest in hosts if rest}
        if ports:
            configured.port = ports.pop()
    configured.lifetime = 5.0
    return configured


def lookup(name: str, kind: str, *, using: dns.resolver.Resolver | None = None) -> list[str]:
    """The records of this kind at this name (TXT strings joined), [] when there are none."""
    try:
        answer = (using or resolver()).resolve(name, kind)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    if kind == "TXT":
        return [b"".join(record.strings).decode(errors="replace") for record in answer]
    return [record.to_text() for record in answer]


def domain_txt_records(domain: str) -> list[str]:
    try:
        return lookup(domain, "TXT")
    except dns.exception.DNSException as error:
        raise DomainLookupFailed(type(error).__name__) from None
