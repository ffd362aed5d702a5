import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cronofy_site.demo import demo_seed


class Command(BaseCommand):
    help = "Create the demo organizations, calendar services in each access mode, and people. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the demo as one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        summary = demo_seed()
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), indent=2))
            return
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"Sign in at {summary.login_url} (password for everyone: {summary.password})")
        self.stdout.write(f"IT admin console: {summary.admin_url}")
        for user in summary.users:
            mode = user["access_mode"] or "-"
            self.stdout.write(
                f"  {user['email']:<28} {user['role']:<10} {user['organization'] or 'platform':<18} "
                f"{mode:<10} {user['public_id']}"
            )
        for organization, directories in summary.directories.items():
            for directory in directories:
                self.stdout.write(
                    f"Directory {directory['provider']:<15} of {organization:<18} {directory['status']:<8} "
                    f"{directory['people_onboarded']} people onboarded, {directory['rooms']} rooms"
                )
