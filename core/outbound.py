"""The one way to call a URL someone else supplied (integrators' channel callbacks, and any later
webhook): https only, to public addresses only, checked on the address actually connected to, no
redirects, short timeouts, a capped read.

Built on requests-hardened (Saleor's): its adapter resolves the host once, refuses loopback, private,
link-local, multicast and reserved addresses, and pins the connection to the address it checked, so a
name that resolves to a public address for a check and to 169.254.169.254 a moment later (DNS
rebinding) never reaches the second one. What it does not know is our one exception: tests and the
demo call servers on their own machine. `OUTBOUND_ALLOWED_NETWORKS` names those networks explicitly;
they match only a URL whose host *is* an address in them (http://127.0.0.1:8000/...), never a name
that resolves there, so no DNS answer can borrow the exception. DEBUG relaxes nothing here.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress, get_ip_address
from requests_hardened.ip_filter_adapter import IPFilterAdapter

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10
MAX_RESPONSE_BYTES = 64 * 1024


class OutboundRefused(ValueError):
    """The URL may not be called: wrong scheme, no host, or an address that is not public."""


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status_code: int
    body: bytes


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in settings.OUTBOUND_ALLOWED_NETWORKS]


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def explicitly_allowed(host: str) -> bool:
    """A host written as an address inside OUTBOUND_ALLOWED_NETWORKS (never a name)."""
    address = _literal_address(host)
    return address is not None and any(address in network for network in _allowed_networks())


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        get_ip_address(str(address), 443, allow_loopback=False)
    except InvalidIPAddress:
        return False
    return True


def outbound_url_check(url: str, *, resolve: bool = True) -> None:
    """Refuse, readably, a URL the guard would never call. A name that resolves to a non-public
    address is refused now; one that does not resolve yet is left to the check at send time."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise OutboundRefused("The URL has no host.")
    allowed = explicitly_allowed(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and (allowed or settings.DEBUG)):
        raise OutboundRefused("Only https URLs are accepted.")
    if parts.username or parts.password:
        raise OutboundRefused("The URL must not carry credentials.")
    if allowed:
        return
    literal = _literal_address(host)
    if literal is not None:
        if not _is_public(literal):
            raise OutboundRefused("The URL points to an address that is not public.")
        return
    if host.rstrip(".").lower() in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        raise OutboundRefused("The URL points to an address that is not public.")
    if not resolve:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        resolved = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (OSError, ValueError):
        return  # not resolvable now; the connection itself is checked when it is made
    if any(not _is_public(ipaddress.ip_address(str(address).split("%")[0])) for address in resolved):
        raise OutboundRefused("The URL's host resolves to an address that is not public.")


class _GuardedAdapter(IPFilterAdapter):
    """requests-hardened's pinning adapter, except for hosts written as explicitly allowed addresses."""

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        if explicitly_allowed(urlsplit(str(request.url or "")).hostname or ""):
            return HTTPAdapter.build_connection_pool_key_attributes(self, request, verify, cert)
        return super().build_connection_pool_key_attributes(request, verify, cert)


def _session() -> HTTPSession:
    session = HTTPSession(
        Config(
            ip_filter_enable=False,  # mounted below, with our explicit exception
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            user_agent_override="Scheduling push notifications",
        )
    )
    session.trust_env = False  # no proxy from the environment may carry these requests elsewhere
    session.mount("http://", _GuardedAdapter(is_https_proto=False))
    session.mount("https://", _GuardedAdapter(is_https_proto=True))
    return session


def outbound_post(url: str, *, body: bytes, headers: dict[str, str]) -> OutboundResponse:
    """POST to a URL someone else gave us. Raises OutboundRefused when the URL or the address it
    leads to is not allowed, requests.RequestException when the call fails; redirects are answers,
    not followed."""
    outbound_url_check(url, resolve=False)
    with _session() as session:
        try:
            response = session.post(url, data=body, headers=headers, stream=True)
        except InvalidIPAddress:
            raise OutboundRefused("The URL's host resolves to an address that is not public.") from None
        try:
            content = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=False) or b""
        finally:
            response.close()
    return OutboundResponse(status_code=response.status_code, body=content[:MAX_RESPONSE_BYTES])
