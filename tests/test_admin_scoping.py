"""The IT-admin console shows each organization's admins their organization and nothing else.

Bob administers Acme (the insider), Charlie administers Globex (the outsider admin), Alice is a
plain Acme member, Root is a superuser.
"""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Organization, Role, User
from accounts.oauth import application_create, service_account_create, tokens_issue_for
from calendars.models import CalendarService
from calendars.services import calendar_profile_connect
from conferencing.models import ConferencingProvider
from conferencing.services import conferencing_service_connect
from core.choices import AccessMode
from directory.models import DirectoryProvider
from directory.services import directory_service_connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_world(acme, bob, alice, acme_services):
    """Everything Acme has: services of each kind, a profile, audit events."""
    directory = directory_service_connect(organization=acme, provider=DirectoryProvider.GOOGLE, connected_by=bob)
    conferencing = conferencing_service_connect(organization=acme, provider=ConferencingProvider.ZOOM, connected_by=bob)
    profile = calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name=alice.email,
        provider_account_id="google-alice",
        calendar_service=acme_services[AccessMode.READ_WRITE],
    )
    application, _ = application_create(name="Acme's integrator", redirect_uris=["https://integrator.example/cb"])
    service_account = service_account_create(
        organization=acme,
        application=application,
        scopes=["service_account/accounts/manage"],
        delegated_scopes=["free_busy"],
        actor=bob,
    )
    return {
        "services": acme_services,
        "directory": directory,
        "conferencing": conferencing,
        "profile": profile,
        "service_account": service_account,
    }


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def acme_objects(acme_world, acme, alice):
    return [
        acme,
        alice,
        acme_world["directory"],
        acme_world["conferencing"],
        acme_world["profile"],
        acme_world["service_account"],
        *acme_world["services"].values(),
    ]


def test_the_insider_sees_every_acme_object(client_for, bob, acme, alice, acme_world):
    client = client_for(bob)
    for obj in acme_objects(acme_world, acme, alice):
        response = client.get(change_url(obj))
        assert response.status_code == 200, obj


def test_the_outsider_admin_gets_404_on_every_acme_url(client_for, charlie, globex_service, acme, alice, acme_world):
    client = client_for(charlie)
    for obj in acme_objects(acme_world, acme, alice):
        for suffix in ("change", "history", "delete"):
            url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_{suffix}", args=[obj.pk])
            response = client.get(url)
            assert response.status_code in (403, 404), (obj, suffix, response.status_code)
            assert b"Acme" not in response.content
        # Writing is refused as well, and changes nothing.
        response = client.post(change_url(obj), {"name": "Hacked", "email": "x@x.example"})
        assert response.status_code in (403, 404)
    acme.refresh_from_db()
    assert acme.name == "Acme"


def test_the_outsider_admin_lists_only_globex(client_for, charlie, globex_service, acme_world):
    client = client_for(charlie)
    lists = {
        "accounts_organization": (b"Globex", b"Acme"),
        "calendars_calendarservice": (b"globex.example", b"acme.example"),
        "accounts_user": (b"charlie@globex.example", b"acme.example"),
        "calendars_calendarprofile": (None, b"alice@acme.example"),
        "directory_directoryservice": (None, b"Acme"),
        "conferencing_conferencingservice": (None, b"Acme"),
        "accounts_auditevent": (b"Globex", b"Acme"),
        "accounts_serviceaccount": (None, b"Acme"),
    }
    for name, (expected, forbidden) in lists.items():
        response = client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 200, name
        if expected:
            assert expected in response.content, name
        assert forbidden not in response.content, name


def test_the_outsider_admin_cannot_find_acme_by_search_or_filter(client_for, charlie, globex_service, acme_world, acme):
    client = client_for(charlie)
    response = client.get(reverse("admin:calendars_calendarservice_changelist"), {"q": "acme.example"})
    assert b"acme.example</a>" not in response.content
    response = client.get(reverse("admin:calendars_calendarservice_changelist"), {"organization__id__exact": acme.pk})
    assert b"acme.example" not in response.content
    query = {"app_label": "accounts", "model_name": "membership", "field_name": "user", "term": "alice"}
    response = client.get(reverse("admin:autocomplete"), query)
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_insider_finds_members_in_the_autocomplete(client_for, bob, alice):
    query = {"app_label": "accounts", "model_name": "membership", "field_name": "user", "term": "alice"}
    response = client_for(bob).get(reverse("admin:autocomplete"), query)
    assert [result["text"] for result in response.json()["results"]] == ["alice@acme.example"]


def test_choice_fields_offer_only_the_admins_organizations(client_for, bob, acme, globex, charlie):
    response = client_for(charlie).get(reverse("admin:calendars_calendarservice_add"))
    choices = [str(choice) for choice in response.context["adminform"].form.fields["organization"].queryset]
    assert choices == ["Globex"]
    response = client_for(charlie).get(reverse("admin:accounts_user_add"))
    assert list(response.context["adminform"].form.fields["organization"].queryset) == [globex]


def test_an_outsider_cannot_connect_a_service_for_acme(client_for, charlie, acme, globex):
    response = client_for(charlie).post(
        reverse("admin:calendars_calendarservice_add"),
        {
            "organization": acme.pk,
            "provider": "google",
            "access_mode": AccessMode.READ_WRITE,
            "domains": "acme-takeover.example",
        },
    )
    assert response.status_code == 200  # the form again, with an error on organization
    assert "organization" in response.context["adminform"].form.errors
    assert not CalendarService.objects.filter(organization=acme).exists()


def test_a_plain_member_cannot_enter_the_console(client_for, alice, acme_world):
    client = client_for(alice)
    response = client.get(reverse("admin:index"))
    assert response.status_code in (302, 403)
    response = client.get(change_url(acme_world["services"][AccessMode.READ_WRITE]))
    assert response.status_code in (302, 403)
    assert b"acme.example" not in response.content


def test_a_staff_flag_without_an_admin_role_opens_nothing(client_for, alice, acme_world):
    User.objects.filter(pk=alice.pk).update(is_staff=True)
    alice.refresh_from_db()
    response = client_for(alice).get(reverse("admin:index"))
    assert response.status_code in (302, 403)
    assert b"Calendar services" not in response.content


def test_the_superuser_sees_everyone(client_for, root, acme_world, globex_service):
    response = client_for(root).get(reverse("admin:calendars_calendarservice_changelist"))
    assert b"globex.example" in response.content
    assert b"acme.example" in response.content


def test_an_admin_of_a_parent_unit_sees_the_units_below(client_for, bob, acme):
    child = Organization.objects.create(name="Acme Research", parent=acme)
    response = client_for(bob).get(change_url(child))
    assert response.status_code == 200


def test_an_admin_of_a_sub_unit_does_not_see_the_parent(client_for, acme, alice):
    child = Organization.objects.create(name="Acme Research", parent=acme)
    Membership.objects.create(organization=child, user=alice, role=Role.ADMIN)
    User.objects.filter(pk=alice.pk).update(is_staff=True)
    client = client_for(alice)
    assert client.get(change_url(child)).status_code == 200
    assert client.get(change_url(acme)).status_code == 404


def test_an_admin_changes_roles_on_the_organization_page_through_the_rules(client_for, acme, bob, dave, alice):
    memberships = list(Membership.objects.filter(organization=acme).order_by("pk"))
    data = {
        "name": "Acme",
        "parent": "",
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": str(len(memberships)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for prefix in ("service_accounts", "calendarservices", "directoryservices", "conferencingservices"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    for index, membership in enumerate(memberships):
        data[f"memberships-{index}-id"] = str(membership.pk)
        data[f"memberships-{index}-organization"] = str(acme.pk)
        data[f"memberships-{index}-user"] = str(membership.user_id)
        # Dave (an admin, not owner) tries to make Alice an owner.
        data[f"memberships-{index}-role"] = Role.OWNER if membership.user_id == alice.pk else membership.role
    response = client_for(dave).post(change_url(acme), data, follow=True)
    assert response.status_code == 200
    assert "Only an owner of the organization can grant or revoke the owner role." in response.content.decode()
    assert Membership.objects.get(user=alice).role == Role.MEMBER  # rolled back

    response = client_for(bob).post(change_url(acme), data, follow=True)
    assert Membership.objects.get(user=alice).role == Role.OWNER
    assert AuditEvent.objects.filter(action="member_role_changed", actor=bob).exists()


def test_an_admin_cannot_set_passwords(client_for, bob, alice):
    response = client_for(bob).get(reverse("admin:auth_user_password_change", args=[alice.pk]))
    assert response.status_code == 403


def test_an_admin_cannot_change_a_person_another_organization_shares(client_for, bob, globex, alice):
    Membership.objects.create(organization=globex, user=alice, role=Role.MEMBER)
    response = client_for(bob).post(
        change_url(alice),
        {"email": alice.email, "name": "Renamed", "default_tzid": "Etc/UTC", "is_active": "on"},
    )
    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.name == "Alice"


def test_an_admin_adds_a_member_into_their_organization(client_for, bob, acme):
    response = client_for(bob).post(
        reverse("admin:accounts_user_add"),
        {"email": "Newcomer@Acme.example", "name": "Newcomer", "organization": acme.pk, "role": Role.MEMBER},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="newcomer@acme.example")
    assert user.memberships.get().organization == acme


def test_the_console_index_offers_an_admin_only_their_own_sections(client_for, bob):
    page = client_for(bob).get(reverse("admin:index")).content.decode()
    for section in ("Calendar services", "Directory services", "Conferencing services", "Organizations", "Users"):
        assert section in page
    for platform_only in ("Groups", "Social accounts", "Scheduled tasks", "Email addresses"):
        assert platform_only not in page


def test_an_admin_creates_units_inside_their_organization_only(client_for, charlie, globex, acme):
    client, url = client_for(charlie), reverse("admin:accounts_organization_add")
    no_members = {"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    response = client.post(url, {"name": "Top level", "parent": "", **no_members})
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    response = client.post(url, {"name": "Inside Acme", "parent": acme.pk, **no_members})
    assert "parent" in response.context["adminform"].form.errors
    response = client.post(url, {"name": "Globex Labs", "parent": globex.pk, **no_members})
    assert response.status_code == 302
    labs = Organization.objects.get(name="Globex Labs")
    assert labs.parent == globex
    assert client.get(change_url(labs)).status_code == 200
    assert not Organization.objects.filter(name__in=["Top level", "Inside Acme"]).exists()


def test_an_owner_cannot_pull_another_organizations_person_into_their_organization(client_for, charlie, globex, alice):
    """The membership inline's user field accepts only people the admin already administers: a forged
    extra row naming Alice (Acme) on Globex's page is refused and nothing changes."""
    data = {
        "name": "Globex",
        "parent": "",
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for prefix in ("service_accounts", "calendarservices", "directoryservices", "conferencingservices"):
        data.update({f"{prefix}-{key}": value for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))})
    own = Membership.objects.get(organization=globex, user=charlie)
    data.update(
        {
            "memberships-0-id": str(own.pk),
            "memberships-0-organization": str(globex.pk),
            "memberships-0-user": str(charlie.pk),
            "memberships-0-role": Role.OWNER,
            "memberships-1-organization": str(globex.pk),
            "memberships-1-user": str(alice.pk),
            "memberships-1-role": Role.MEMBER,
        }
    )
    response = client_for(charlie).post(change_url(globex), data)
    assert response.status_code == 200  # the form comes back with an error
    assert not Membership.objects.filter(organization=globex, user=alice).exists()


def own_connection(person, application_name: str = "Acme Scheduler", account: str = "alice.home@gmail.example"):
    """A calendar the person connected themselves when an integrator asked (Free/Busy), and its grant."""
    profile = calendar_profile_connect(
        user=person,
        provider_name="google_free_busy",
        profile_name=account,
        provider_account_id=f"google-{account}",
    )
    application, _ = application_create(name=application_name, redirect_uris=["https://app.example/cb"])
    tokens_issue_for(application=application, user=person, scopes=["read_free_busy"])
    return profile


def test_admins_see_which_applications_reach_a_persons_own_calendars_in_which_mode(
    client_for, bob, acme, alice, acme_world
):
    profile = own_connection(alice)
    page = client_for(bob).get(change_url(alice)).content.decode()
    assert "Calendars connected through applications" in page
    assert "alice.home@gmail.example" in page and profile.public_id in page
    assert "Acme Scheduler (" in page  # the application, and since when
    assert "Free/Busy" in page
    assert "Read-Write (Acme) · within it" in page  # against the mode Acme allows for alice@acme.example


def test_a_persons_own_calendars_show_only_to_the_admins_who_manage_them(
    client_for, bob, charlie, globex, acme, alice, acme_world
):
    """Someone another organization shares, and whom no Acme service serves, is not Bob's to look into;
    the outsider finds no page at all."""
    shared = User.objects.create_user(email="sam@globex.example", password="x")
    Membership.objects.create(organization=acme, user=shared, role=Role.MEMBER)
    Membership.objects.create(organization=globex, user=shared, role=Role.MEMBER)
    own_connection(shared, "Shared Scheduler", account="sam.home@gmail.example")
    page = client_for(bob).get(change_url(shared))
    assert page.status_code == 200
    assert "Calendars connected through applications" not in page.content.decode()
    assert "Shared Scheduler" not in page.content.decode()
    own_connection(alice, "Alice Scheduler")
    assert client_for(charlie).get(change_url(alice)).status_code in (403, 404)
