"""Print a new DKIM private key for invitations and the DNS record to publish for it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from bookings.dkim_signing import DkimKey, generate_private_key


class Command(BaseCommand):
    help = "Generate a DKIM key for invitations: set INVITATIONS_DKIM_PRIVATE_KEY to it and publish the TXT record."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--domain", default=settings.INVITATIONS_FROM_EMAIL.rsplit("@", 1)[-1])
        parser.add_argument("--selector", default=settings.INVITATIONS_DKIM_SELECTOR)

    def handle(self, *args: Any, **options: Any) -> None:
        key = DkimKey(domain=options["domain"], selector=options["selector"], private_pem=generate_private_key())
        name, value = key.dns_record()
        self.stdout.write(key.private_pem)
        self.stdout.write(f'Publish this DNS TXT record:\n{name}. IN TXT "{value}"\n')
