"""Every page of the IT-admin console refuses, server-side, ids from outside the signed-in admin's
organizations: in every relation field, every inline, every action and every page of its own (finding 1).

The test enumerates what the console's admin site has registered, so a page added later (directory,
conferencing, Enterprise Connect...) is probed the day it is registered. As Charlie (Globex's owner)
it takes each page's own form as a browser would post it, puts an object of Acme's into one relation
field at a time (or into a new inline row), posts, and requires a refusal (403/404, or the form back
with an error on that field) and no change anywhere.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib import admin
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse

from accounts.models import AuditEvent, Membership, Organization, OrganizationInvitation, Role, User
from accounts.oauth import application_create, service_account_create, tokens_issue_for
from accounts.services import membership_set, organization_invitation_send
from bookings.models import InboundReply
from bookings.senders import sender_domain_set
from bookings.services import EventInput, Invitee, managed_event_upsert
from calendars.managed_availability import availability_rule_upsert, available_period_upsert
from calendars.models import Calendar, CalendarProfile, CalendarService
from calendars.services import calendar_profile_connect, calendar_service_connect
from conferencing.models import ConferencingProvider
from conferencing.services import conferencing_service_connect
from conftest import make_user
from core.choices import AccessMode
from directory.models import DirectoryProvider
from directory.services import directory_service_connect
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db

START = datetime(2027, 3, 24, 10, tzinfo=UTC)
PROBES: Counter = Counter()


def console_admins() -> list[admin.ModelAdmin]:
    return list(admin.site._registry.values())


def admin_id(model_admin: admin.ModelAdmin) -> str:
    return model_admin.model._meta.label


def all_pks() -> dict[type, set]:
    return {model: set(model._default_manager.values_list("pk", flat=True)) for model in apps.get_models()}


def people_world(organization, owner, person, service, prefix: str) -> None:
    """One of everything the console shows, for one organization."""
    directory_service_connect(organization=organization, provider=DirectoryProvider.GOOGLE, connected_by=owner)
    conferencing_service_connect(organization=organization, provider=ConferencingProvider.ZOOM, connected_by=owner)
    profile = calendar_profile_connect(
        user=person,
        provider_name="cronofy",
        profile_name=person.email,
        calendar_service=service,
    )
    calendar = profile.calendars.get()
    application, _ = application_create(name=f"{prefix} app", redirect_uris=[INTEGRATOR_REDIRECT])
    tokens_issue_for(application=application, user=person, scopes=["read_only"])
    service_account_create(
        organization=organization,
        application=application,
        scopes=["service_account/accounts/manage"],
        delegated_scopes=["read_only"],
        actor=owner,
    )
    event = managed_event_upsert(
        application=application,
        calendar=calendar,
        data=EventInput(
            event_id=f"{prefix}-1",
            summary=f"{prefix} meeting",
            start=START,
            end=START + timedelta(hours=1),
            invite=[Invitee(f"guest@{prefix}.example")],
        ),
    )
    InboundReply.objects.create(source="smtp", raw="", event=event, attendee_email=f"guest@{prefix}.example")
    availability_rule_upsert(
        user=person,
        rule_id=f"{prefix}-hours",
        tzid="Etc/UTC",
        calendar_ids=[calendar.public_id],
        weekly_periods=[{"day": "monday", "start_time": "09:00", "end_time": "17:00"}],
    )
    available_period_upsert(user=person, period_id=f"{prefix}-extra", start=START, end=START + timedelta(hours=2))
    sender_domain_set(organization=organization, domain=f"{prefix}.example", actor=owner)
    organization_invitation_send(
        organization=organization, email=f"newcomer@{prefix}.example", role=Role.MEMBER, invited_by=owner
    )


@pytest.fixture
def worlds(acme, bob, alice, charlie, globex):
    """Globex's world (Charlie's, in scope) and Acme's (every object of it an outsider for Charlie)."""
    gina = make_user("gina@globex.example", "Gina")
    membership_set(organization=globex, user=gina, role=Role.MEMBER, actor=charlie)
    globex_service = CalendarService.objects.get(pk=_service(globex, charlie, "globex.example").pk)
    people_world(globex, charlie, gina, globex_service, "globex")
    before = all_pks()
    acme_service = _service(acme, bob, "acme.example")
    people_world(acme, bob, alice, acme_service, "acme")
    Organization.objects.create(name="Acme Research", parent=acme)
    after = all_pks()
    outsiders = {model: sorted(after[model] - before[model]) for model in after if after[model] - before[model]}
    # Acme and its people were made before the snapshot (they are fixtures): Acme's too.
    outsiders[Organization] = [acme.pk, *outsiders.get(Organization, [])]
    outsiders[User] = [alice.pk, bob.pk, *outsiders.get(User, [])]
    outsiders[Membership] = sorted(Membership.objects.filter(organization=acme).values_list("pk", flat=True))
    return {"outsiders": outsiders, "acme_calendar": Calendar.objects.get(profile__user=alice)}


def _service(organization, owner, domain):
    return calendar_service_connect(
        organization=organization,
        provider="google",
        access_mode=AccessMode.NO_ACCESS,
        domains=[domain],
        connected_by=owner,
    )


def fingerprint() -> list:
    """Every row of every model the console touches (and the audit trail)."""
    models = {model_admin.model for model_admin in console_admins()}
    models |= {inline.model for model_admin in console_admins() for inline in model_admin.inlines}
    models |= {Membership, OrganizationInvitation, AuditEvent, CalendarProfile}
    return [list(model._default_manager.order_by("pk").values()) for model in sorted(models, key=str)]


class FormInputs(HTMLParser):
    """What a browser would post from a page's form: named inputs, selects and textareas."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.data.setdefault(name, []).append(attributes.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = attributes.get("value", "")
            if "selected" in attributes:
                self.data.setdefault(self._select, []).append(value)
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.setdefault(name, []).append("")

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_data(html: str) -> dict[str, list[str]]:
    parser = FormInputs()
    parser.feed(html)
    return {name: values for name, values in parser.data.items() if name != "csrfmiddlewaretoken"}


def refused_field(response, field: str, *, inline_prefix: str | None = None) -> bool:
    if response.status_code in (403, 404):
        return True
    if response.status_code != 200 or response.context is None:
        return False
    if inline_prefix is None:
        form = response.context["adminform"].form
        return field in form.errors
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        if formset.prefix == inline_prefix:
            return any(field in form.errors for form in formset.forms) or bool(formset.non_form_errors())
    return False


def outsider_value(field, outsiders: dict, acme_calendar: Calendar) -> str | None:
    model = field.queryset.model
    pks = outsiders.get(model)
    if not pks:
        return None
    return str(pks[0])


def relation_fields(form) -> list[str]:
    return [
        name
        for name, field in form.fields.items()
        if isinstance(field, ModelChoiceField | ModelMultipleChoiceField) and not field.disabled
    ]


def id_list_fields(form) -> list[str]:
    """JSON fields holding ids of other objects (calendar_ids): relations in all but type."""
    return [name for name in form.fields if name.endswith("_ids") and not form.fields[name].disabled]


def probe_form(client: Client, url: str, page, worlds: dict, label: str) -> None:
    html = page.content.decode()
    base = form_data(html)
    form = page.context["adminform"].form
    for name in relation_fields(form):
        value = outsider_value(form.fields[name], worlds["outsiders"], worlds["acme_calendar"])
        if value is None:
            PROBES["field without any outsider to try"] += 1
            continue
        before = fingerprint()
        response = client.post(url, {**base, name: [value]})
        assert refused_field(response, name), (label, url, name, response.status_code)
        assert fingerprint() == before, (label, url, name, "changed")
        PROBES[f"relation field {label}.{name}"] += 1
    for name in id_list_fields(form):
        before = fingerprint()
        response = client.post(url, {**base, name: [json.dumps([worlds["acme_calendar"].public_id])]})
        assert refused_field(response, name), (label, url, name, response.status_code)
        assert fingerprint() == before, (label, url, name, "changed")
        PROBES[f"id list field {label}.{name}"] += 1
    for inline in page.context.get("inline_admin_formsets", []):
        formset = inline.formset
        prefix = formset.prefix
        template = {
            key.replace("__prefix__", "{n}"): values for key, values in base.items() if f"{prefix}-__prefix__-" in key
        }
        total = int(base.get(f"{prefix}-TOTAL_FORMS", ["0"])[0])
        fields = relation_fields(formset.empty_form)
        for name in fields:
            value = outsider_value(formset.empty_form.fields[name], worlds["outsiders"], worlds["acme_calendar"])
            if value is None:
                PROBES["inline field without any outsider to try"] += 1
                continue
            # A forged extra row...
            data = {**base, **{key.format(n=total): values for key, values in template.items()}}
            data[f"{prefix}-TOTAL_FORMS"] = [str(total + 1)]
            data[f"{prefix}-{total}-{name}"] = [value]
            before = fingerprint()
            response = client.post(url, data)
            assert response.status_code != 302 or not inline.has_add_permission, (label, prefix, name)
            assert fingerprint() == before, (label, prefix, name, "extra row changed something")
            # ...and an existing row pointed elsewhere.
            for index in range(total):
                data = {**base, f"{prefix}-{index}-{name}": [value]}
                response = client.post(url, data)
                assert fingerprint() == before, (label, prefix, index, name, "existing row changed")
            PROBES[f"inline field {label}.{prefix}.{name}"] += 1


def request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize("model_admin", console_admins(), ids=admin_id)
def test_no_console_page_accepts_an_object_outside_the_admins_organizations(model_admin, worlds, charlie):
    client = Client()
    client.force_login(charlie)
    opts = model_admin.model._meta
    label = opts.label
    outsiders = worlds["outsiders"]
    relation_names = [
        field.name for field in opts.get_fields() if field.is_relation and field.concrete and not field.auto_created
    ]

    # The add page.
    add_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    page = client.get(add_url)
    if page.status_code == 200:
        probe_form(client, add_url, page, worlds, label)
    else:
        assert page.status_code in (403, 404), (label, page.status_code)
        forged = {
            name: str(outsiders[field.related_model][0])
            for name in relation_names
            if (field := opts.get_field(name)).related_model in outsiders
        }
        before = fingerprint()
        assert client.post(add_url, forged).status_code in (403, 404), label
        assert fingerprint() == before, label
        PROBES[f"refused add page {label}"] += max(1, len(forged))

    # The change page of an object of Charlie's own, with Acme's objects put into it.
    own = model_admin.get_queryset(request_as(charlie)).first()
    if own is not None:
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[own.pk])
        page = client.get(change_url)
        if page.status_code == 200 and page.context and "adminform" in page.context:
            probe_form(client, change_url, page, worlds, label)

    # Acme's own objects: every page of theirs, read or written, does not exist for Charlie.
    for outsider in outsiders.get(model_admin.model, [])[:3]:
        for suffix in ("change", "history", "delete"):
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{suffix}", args=[outsider])
            before = fingerprint()
            assert client.get(url).status_code in (403, 404), (label, suffix)
            assert client.post(url, {"post": "yes"}).status_code in (403, 404), (label, suffix)
            assert fingerprint() == before, (label, suffix)
            PROBES[f"outsider page {label}.{suffix}"] += 1
        # Pages of the admin's own (authorize, change mode, check DNS...).
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None) or ""
            if "object_id" not in str(pattern.pattern) or name.endswith(("_change", "_history", "_delete")):
                continue
            try:
                url = reverse(f"admin:{name}", args=[outsider])
            except NoReverseMatch:
                continue
            before = fingerprint()
            assert client.get(url).status_code in (403, 404), (label, name)
            assert client.post(url, {"access_mode": "read_write", "confirm": "on"}).status_code in (403, 404)
            assert fingerprint() == before, (label, name)
            PROBES[f"outsider page {label}.{name}"] += 1

    # Every action, on Acme's objects.
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    actions = (
        model_admin.get_actions(request_as(charlie)) if model_admin.has_module_permission(request_as(charlie)) else {}
    )
    for action in actions or ["delete_selected"]:
        selected = [str(pk) for pk in outsiders.get(model_admin.model, [])]
        before = fingerprint()
        response = client.post(changelist, {"action": action, "_selected_action": selected, "post": "yes"})
        assert response.status_code in (200, 302, 403), (label, action)
        assert fingerprint() == before, (label, action, "an action reached another organization's objects")
        PROBES[f"action {label}.{action}"] += 1


def test_the_probe_reaches_every_kind_of_relation(worlds, charlie):
    """The console's own pages have relation fields to probe, and Acme has an object of each kind
    they point to: a field without an outsider to try would be a gap in the test, not a pass."""
    client = Client()
    client.force_login(charlie)
    missing = []
    for model_admin in console_admins():
        opts = model_admin.model._meta
        page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        if page.status_code != 200:
            continue
        form = page.context["adminform"].form
        missing += [
            f"{opts.label}.{name}"
            for name in relation_fields(form)
            if form.fields[name].queryset.model not in worlds["outsiders"]
        ]
    assert missing == []


def test_a_person_shared_with_another_organization_shows_only_what_belongs_to_the_admins_services(
    client_for, worlds, bob, alice, globex, charlie
):
    """Alice is also a Globex member: Charlie still sees nothing of what belongs to Acme's service."""
    membership_set(organization=globex, user=alice, role=Role.MEMBER, actor=charlie)
    client = client_for(charlie)
    for name in (
        "bookings_managedevent",
        "bookings_invitation",
        "calendars_availabilityrule",
        "calendars_availableperiod",
    ):
        listing = client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert "acme" not in listing.lower(), name
    event = re.escape("acme meeting")
    assert not re.search(event, client.get(reverse("admin:bookings_managedevent_changelist")).content.decode())
    # Bob, whose service serves Alice, still sees all of it.
    assert "acme meeting" in client_for(bob).get(reverse("admin:bookings_managedevent_changelist")).content.decode()
    # Her own calendar connections through integrators (the person's page panel) are Bob's to see, not Charlie's.
    calendar_profile_connect(
        user=alice, provider_name="google_free_busy", profile_name="alice.home@gmail.example", provider_account_id="h"
    )
    person_page = reverse("admin:accounts_user_change", args=[alice.pk])
    charlie_sees = client_for(charlie).get(person_page)
    assert charlie_sees.status_code == 200  # Alice is a Globex member too
    assert "alice.home@gmail.example" not in charlie_sees.content.decode()
    assert "Calendars connected through applications" not in charlie_sees.content.decode()
    bob_sees = client_for(bob).get(person_page).content.decode()
    assert "alice.home@gmail.example" in bob_sees and "acme app (" in bob_sees
