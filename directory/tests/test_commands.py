"""`manage.py directory_sync` runs or previews rounds; `manage.py sandbox_directory` changes the sandbox's
directories the way their administrators would, for people and scripts."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from directory.models import DirectoryRound, DirectoryService, DirectoryUser
from sandbox.models import HrUser, Person

pytestmark = pytest.mark.django_db(transaction=True)


def command_json(*args: str) -> object:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_a_dry_run_says_who_would_be_onboarded_and_changes_nothing(directories):
    results = command_json("directory_sync", "--service", directories.google.public_id, "--dry-run")
    assert results[0]["status"] == "previewed"
    assert "alice@acme.example" in [entry["email"] for entry in results[0]["changes"]["onboard"]]
    assert not DirectoryUser.objects.exists()


def test_a_run_reports_what_it_did_for_every_active_directory(directories):
    results = command_json("directory_sync")
    assert {result["provider"] for result in results} == {"google", "microsoft", "successfactors"}
    assert all(result["status"] == "succeeded" for result in results), results
    assert DirectoryRound.objects.filter(status="succeeded").count() == 3


def test_the_human_output_names_people(directories):
    out = io.StringIO()
    call_command("directory_sync", "--service", directories.microsoft.public_id, stdout=out)
    assert "onboard   erin@contoso.example" in out.getvalue()


def test_an_unknown_service_is_a_clear_error(directories):
    with pytest.raises(CommandError, match="No directory service"):
        call_command("directory_sync", "--service", "dir_nope")


@pytest.mark.parametrize(
    ("tenant", "email", "unit"),
    [("acme.example", "zoe@acme.example", "/Sales"), ("contoso.example", "zoe@contoso.example", "Sales")],
)
def test_the_sandbox_command_adds_moves_suspends_and_deletes_people(world, tenant, email, unit):
    added = command_json("sandbox_directory", "add", "--tenant", tenant, "--email", email, "--name", "Zoe Zed")
    assert added["status"] == "active"
    moved = command_json("sandbox_directory", "move", "--tenant", tenant, "--person", email, "--unit", unit)
    assert moved["unit"] == unit
    renamed = command_json("sandbox_directory", "rename", "--tenant", tenant, "--person", email, "--name", "Zoe Y")
    assert renamed["name"] == "Zoe Y"
    assert command_json("sandbox_directory", "suspend", "--tenant", tenant, "--person", email)["status"] == "suspended"
    assert command_json("sandbox_directory", "reactivate", "--tenant", tenant, "--person", email)["status"] == "active"
    assert command_json("sandbox_directory", "delete", "--tenant", tenant, "--person", email)["status"] == "deleted"
    assert Person.objects.get(email=email).deleted_at is not None


def test_the_sandbox_command_grows_a_successfactors_company(successfactors_company):
    grown = command_json("sandbox_directory", "grow", "--tenant", "ACMEHR", "--size", "50")
    assert grown["added"] == 47  # alice, bob and the API user were there
    assert HrUser.objects.filter(tenant=successfactors_company, status="t").count() == 50
    listed = command_json("sandbox_directory", "list", "--tenant", "ACMEHR")
    assert len(listed["people"]) == 50


def test_the_sandbox_command_refuses_an_unknown_person(world):
    with pytest.raises(CommandError, match="Nobody called"):
        call_command("sandbox_directory", "suspend", "--tenant", "acme.example", "--person", "ghost@acme.example")


def test_directory_services_are_untouched_by_the_sandbox_command(directories):
    command_json("sandbox_directory", "add", "--tenant", "acme.example", "--email", "new@acme.example")
    assert DirectoryService.objects.filter(last_synced_at__isnull=False).count() == 0
