import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ConnectionStatus
from directory.models import DirectoryRound, DirectoryService
from directory.rounds import RoundBusy, directory_round


def round_json(service: DirectoryService, round_: DirectoryRound | None, error: str = "") -> dict[str, Any]:
    if round_ is None:
        return {
            "service": service.public_id,
            "provider": service.provider,
            "organization": str(service.organization),
            "status": "not_run",
            "error": error,
        }
    round_.refresh_from_db()
    return {
        "service": service.public_id,
        "provider": service.provider,
        "organization": str(service.organization),
        "status": round_.status,
        "dry_run": round_.dry_run,
        "full": round_.full,
        "summary": round_.summary(),
        "people_read": round_.people_read,
        "counts": round_.counts,
        "changes": round_.changes,
        "errors": round_.errors,
        "seconds": round_.counts.get("seconds"),
    }


class Command(BaseCommand):
    help = (
        "Run a directory round now (every active directory service, or one), or with --dry-run say what it "
        "would do: who would be onboarded, offboarded, moved and renamed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--service", default="", help="A directory service id (dir_…); all active ones otherwise.")
        parser.add_argument("--dry-run", action="store_true", help="Plan only: change nothing.")
        parser.add_argument("--full", action="store_true", help="List everyone, not only changes since the last round.")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        services = DirectoryService.objects.select_related("organization")
        if options["service"]:
            services = services.filter(public_id=options["service"])
            if not services.exists():
                raise CommandError(f"No directory service {options['service']}.")
        else:
            services = services.filter(status__in=[ConnectionStatus.ACTIVE, ConnectionStatus.ERROR])
        results = []
        for service in services:
            try:
                outcome = directory_round(service=service, dry_run=options["dry_run"], full=options["full"])
            except (RoundBusy, ValidationError) as error:
                results.append(round_json(service, None, " ".join(getattr(error, "messages", [str(error)]))))
                continue
            results.append(round_json(service, outcome.round))
        if options["json"]:
            self.stdout.write(json.dumps(results, indent=2, default=str))
            return
        if not results:
            self.stdout.write("No active directory service.")
        for result in results:
            self.stdout.write(
                f"{result['service']} ({result['provider']}, {result['organization']}): {result['status']}"
            )
            if result["status"] == "not_run":
                self.stdout.write(f"  {result['error']}")
                continue
            self.stdout.write(f"  {result['summary']}; {result['people_read']} people read in {result['seconds']} s")
            for kind in ("onboard", "offboard", "move", "rename"):
                for entry in result["changes"].get(kind, []):
                    detail = entry.get("reason") or (f"{entry['from']} → {entry['to']}" if kind == "move" else "")
                    detail = detail or (f"was {entry['was']}" if kind == "rename" else "")
                    self.stdout.write(f"  {kind:9} {entry['email']} {entry['name']} {detail}".rstrip())
            for failure in result["errors"]:
                self.stdout.write(f"  error: {failure}")
