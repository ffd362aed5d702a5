import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.schedules import schedules_sync


class Command(BaseCommand):
    help = "Create, correct or remove django-q2 schedules so they are exactly the apps' PERIODIC_TASKS (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print what changed as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = schedules_sync()
        if options["json"]:
            self.stdout.write(json.dumps(asdict(result), indent=2))
            return
        for label, names in (("created", result.created), ("updated", result.updated), ("removed", result.removed)):
            for name in names:
                self.stdout.write(f"{label}: {name}")
        self.stdout.write(f"{len(result.unchanged)} schedule(s) already up to date.")
