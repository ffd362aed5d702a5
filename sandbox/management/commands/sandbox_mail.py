"""Run the sandbox's SMTP server: everything sent to it lands in the mailboxes at /sandbox/mail/."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from sandbox.mail import mail_server


class Command(BaseCommand):
    help = "Keep every mail sent here in the sandbox's mailboxes (point EMAIL_HOST and EMAIL_PORT here)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.SANDBOX_MAIL_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        controller = mail_server(options["host"], options["port"])
        controller.start()
        self.stdout.write(f"Sandbox mail on {options['host']}:{options['port']}; mailboxes at /sandbox/mail/")
        stopped = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stopped.set())
        stopped.wait()
        controller.stop()
