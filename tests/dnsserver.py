"""A real DNS server for tests (dnslib, UDP on a free port) answering from a dict the test fills,
and the system pointed at it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from dnslib import MX, QTYPE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSServer


@dataclass
class Zone:
    """Records by (name, type): TXT values as strings, MX as (preference, exchange)."""

    records: dict[tuple[str, str], list] = field(default_factory=dict)

    def add(self, kind: str, name: str, value: object) -> None:
        self.records.setdefault((name.rstrip(".").lower(), kind), []).append(value)


class _Resolver(BaseResolver):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        for value in self.zone.records.get((name, kind), []):
            if kind == "TXT":
                chunks = [value[i : i + 255] for i in range(0, len(value), 255)]
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
            elif kind == "MX":
                preference, exchange = value
                reply.add_answer(RR(request.q.qname, QTYPE.MX, rdata=MX(exchange, preference), ttl=60))
        if not reply.rr:
            reply.header.rcode = 3  # NXDOMAIN
        return reply


@pytest.fixture
def dns_zone(settings) -> Iterator[Zone]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    zone = Zone()
    server = DNSServer(_Resolver(zone), port=port, address="127.0.0.1")
    server.start_thread()
    settings.DNS_NAMESERVERS = [f"127.0.0.1:{port}"]
    yield zone
    server.stop()
