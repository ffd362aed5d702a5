"""Run the SMTP server that takes attendees' replies to invitations."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from bookings.smtp_receiver import receiver


class Command(BaseCommand):
    help = "Receive iMIP replies by SMTP for INVITATIONS_REPLY_DOMAIN (point its MX, or a forward, here)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.INVITATIONS_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.INVITATIONS_SMTP_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        controller = receiver(options["host"], options["port"])
        controller.start()
        self.stdout.write(
            f"Taking replies for *@{settings.INVITATIONS_REPLY_DOMAIN} on {options['host']}:{options['port']}"
        )
        stopped = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stopped.set())
        stopped.wait()
        controller.stop()
