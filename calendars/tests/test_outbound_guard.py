"""Finding 5 (SSRF): channel callbacks reach only public addresses over https. Refused at creation
with 422 where the URL says enough; refused at send time on the address actually connected to (DNS
rebinding); never redirected; loopback only through the explicit OUTBOUND_ALLOWED_NETWORKS."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.oauth import application_create, tokens_issue_for
from calendars.models import Channel, ChannelNotification
from calendars.notifications import channel_create, channel_notification_deliver
from conftest import make_user
from core.outbound import OutboundRefused, outbound_post, outbound_url_check

pytestmark = pytest.mark.django_db

REFUSED_AT_CREATION = [
    "http://127.0.0.1:8000/hook",
    "https://127.0.0.1/hook",
    "https://10.0.0.5/hook",
    "https://172.16.3.4/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "https://0.0.0.0/hook",
    "https://100.64.0.1/hook",
    "https://localhost/hook",
    "https://metadata.localhost/hook",
    "http://example.com/hook",
    "https://user:pass@example.com/hook",
]


@pytest.fixture
def alice_grant(db):
    alice = make_user("alice@acme.example", "Alice")
    application, _ = application_create(name="Scheduler", redirect_uris=["https://integrator.example/cb"])
    tokens = tokens_issue_for(application=application, user=alice, scopes=["free_busy"])
    return tokens


@pytest.mark.parametrize("url", REFUSED_AT_CREATION)
def test_a_channel_to_an_address_that_is_not_public_is_refused_with_422(client, alice_grant, url, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    response = client.post(
        "/v1/channels",
        {"callback_url": url},
        content_type="application/json",
        headers={"Authorization": f"Bearer {alice_grant.access_token}"},
    )
    assert response.status_code == 422, (url, response.content)
    assert "callback_url" in response.json()["errors"]
    assert not Channel.objects.exists()


def test_a_public_https_callback_is_accepted(client, alice_grant, settings, monkeypatch):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"hooks.integrator.example": "93.184.216.34"}))
    response = client.post(
        "/v1/channels",
        {"callback_url": "https://hooks.integrator.example/cronofy"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {alice_grant.access_token}"},
    )
    assert response.status_code == 200


def test_a_name_resolving_to_the_metadata_address_is_refused_at_creation(settings, monkeypatch):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"evil.example": "169.254.169.254"}))
    with pytest.raises(OutboundRefused):
        outbound_url_check("https://evil.example/hook")


def _resolving(names: dict[str, str]):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port or 443))]
        return real(host, port, *args, **kwargs)

    return getaddrinfo


class _Hits:
    def __init__(self) -> None:
        self.paths: list[str] = []


@pytest.fixture
def loopback_server():
    """A server on loopback that records what reaches it; /redirect answers 302 to /landed."""
    hits = _Hits()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.paths.append(self.path)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/landed")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"x" * (1024 * 1024) if self.path == "/huge" else b""
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, hits
    server.shutdown()


def test_dns_rebinding_to_loopback_is_refused_at_connect_time(loopback_server, alice_grant, settings, monkeypatch):
    """The name looked public when the channel was made; at send time it resolves to loopback. The
    worker refuses the address it would connect to, nothing reaches the server, and the notification
    is given up with the reason."""
    port, hits = loopback_server
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"rebind.example": "93.184.216.34"}))
    channel = channel_create(
        grant=alice_grant.grant, callback_url=f"https://rebind.example:{port}/hook", calendar_ids=[], only_managed=False
    )
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"rebind.example": "127.0.0.1"}))
    notification = ChannelNotification.objects.get(channel=channel)
    channel_notification_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    assert hits.paths == []
    assert notification.failed_at is not None
    assert notification.last_error.startswith("Refused")


def test_loopback_is_reachable_only_as_an_explicitly_allowed_address(loopback_server, settings, monkeypatch):
    port, hits = loopback_server
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert outbound_post(f"http://127.0.0.1:{port}/ok", body=b"{}", headers={}).status_code == 200
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"looks-fine.example": "127.0.0.1"}))
    with pytest.raises(OutboundRefused):
        outbound_post(f"http://looks-fine.example:{port}/ok", body=b"{}", headers={})
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(OutboundRefused):
        outbound_post(f"http://127.0.0.1:{port}/ok", body=b"{}", headers={})
    assert hits.paths == ["/ok"]


def test_redirects_are_not_followed(loopback_server, settings):
    port, hits = loopback_server
    response = outbound_post(f"http://127.0.0.1:{port}/redirect", body=b"{}", headers={})
    assert response.status_code == 302
    assert hits.paths == ["/redirect"]


def test_the_response_read_is_capped(loopback_server):
    port, _ = loopback_server
    response = outbound_post(f"http://127.0.0.1:{port}/huge", body=b"{}", headers={})
    assert response.status_code == 200
    assert len(response.body) == 64 * 1024


def test_debug_does_not_open_private_addresses(settings):
    settings.DEBUG = True
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(OutboundRefused):
        outbound_url_check("http://10.1.2.3/hook")
