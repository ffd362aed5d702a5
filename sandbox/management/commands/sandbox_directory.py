import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox import directory
from sandbox.models import HrUser, Person, Provider


class Command(BaseCommand):
    help = (
        "Change a sandbox directory as its administrator would: add, rename, move, suspend, reactivate or delete "
        "a person (Google Workspace, Microsoft Entra, SuccessFactors), grow a tenant to N people, or list it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", choices=["add", "rename", "move", "suspend", "reactivate", "delete", "grow", "churn", "list"]
        )
        parser.add_argument("--tenant", required=True, help="A tenant's customer/tenant/company id, name or domain.")
        parser.add_argument("--person", default="", help="The person: email address (or SuccessFactors userId).")
        parser.add_argument("--email", default="", help="add: the address; rename: the new address.")
        parser.add_argument("--name", default="", help="add: the name; rename: the new name.")
        parser.add_argument("--unit", default="", help="Google organizational unit path, or department.")
        parser.add_argument("--user-id", default="", help="SuccessFactors: the userId of a new person.")
        parser.add_argument("--size", type=int, default=0, help="grow: active people wanted; churn: changes.")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = directory.tenant_find(options["tenant"])
            result = self._run(tenant, options)
        except directory.DirectoryError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        for key, value in result.items():
            self.stdout.write(f"{key}: {value}")

    def _run(self, tenant: Any, options: dict[str, Any]) -> dict[str, Any]:
        action, key = options["action"], options["person"]
        if action in ("rename", "move", "suspend", "reactivate", "delete") and not key:
            raise directory.DirectoryError(f"{action} needs --person.")
        if action == "add":
            if not options["email"]:
                raise directory.DirectoryError("add needs --email.")
            entry = directory.person_add(
                tenant=tenant,
                email=options["email"],
                name=options["name"] or options["email"].split("@")[0],
                unit=options["unit"],
                user_id=options["user_id"],
            )
        elif action == "rename":
            entry = directory.person_rename(tenant=tenant, key=key, email=options["email"], name=options["name"])
        elif action == "move":
            entry = directory.person_move(tenant=tenant, key=key, unit=options["unit"])
        elif action in ("suspend", "reactivate"):
            entry = directory.person_suspend(tenant=tenant, key=key, suspended=action == "suspend")
        elif action == "delete":
            entry = directory.person_delete(tenant=tenant, key=key)
        elif action == "grow":
            return {"tenant": tenant.external_id, "added": directory.tenant_grow(tenant=tenant, size=options["size"])}
        elif action == "churn":
            changed = directory.tenant_change_some(tenant=tenant, count=options["size"])
            return {"tenant": tenant.external_id, "changed": [entry.as_dict() for entry in changed]}
        else:
            return {
                "tenant": tenant.external_id,
                "people": [directory.entry_of(p).as_dict() for p in self._people(tenant)],
            }
        return entry.as_dict()

    @staticmethod
    def _people(tenant: Any) -> list[Any]:
        if tenant.provider == Provider.SUCCESSFACTORS:
            return list(HrUser.objects.filter(tenant=tenant).select_related("tenant").order_by("user_id"))
        return list(
            Person.objects.filter(tenant=tenant, kind=Person.Kind.USER).select_related("tenant").order_by("email")
        )
