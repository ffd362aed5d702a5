"""Finding 1: a person joins an organization only if its admin already administers them, or by an
emailed invitation they accept, signed in as the invited address."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Organization, OrganizationInvitation, Role

pytestmark = pytest.mark.django_db


def add_person(client, organization, email: str, role: str = Role.MEMBER):
    return client.post(
        reverse("admin:accounts_user_add"),
        {"email": email, "name": "", "organization": organization.pk, "role": role},
    )


def invitation_link(mailoutbox) -> str:
    [message] = mailoutbox
    return re.search(r"http\S+/invitations/\S+/", message.body).group(0)


def test_adding_someone_elses_person_sends_an_invitation_instead(
    client_for, bob, acme, charlie, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = add_person(client_for(bob), acme, "Charlie@Globex.example")
    assert response.status_code == 302
    assert not Membership.objects.filter(organization=acme, user=charlie).exists()
    invitation = OrganizationInvitation.objects.get()
    assert (invitation.email, invitation.organization, invitation.invited_by) == ("charlie@globex.example", acme, bob)
    assert mailoutbox[0].to == ["charlie@globex.example"]
    assert "Join Acme" in mailoutbox[0].subject


def test_the_invited_person_joins_by_accepting(
    client_for, bob, acme, charlie, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        add_person(client_for(bob), acme, charlie.email)
    link = invitation_link(mailoutbox)
    client = client_for(charlie)
    assert "Join Acme" in client.get(link).content.decode()
    response = client.post(link)
    assert response.status_code == 302
    assert Membership.objects.get(organization=acme, user=charlie).role == Role.MEMBER
    assert AuditEvent.objects.filter(action="invitation_accepted", actor=charlie, organization=acme).exists()
    assert client.get(link).status_code == 404  # used once


def test_only_the_invited_address_can_accept(
    client_for, bob, acme, charlie, alice, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        add_person(client_for(bob), acme, charlie.email)
    link = invitation_link(mailoutbox)
    response = client_for(alice).post(link)
    assert response.status_code == 400
    assert not Membership.objects.filter(organization=acme, user=charlie).exists()
    assert OrganizationInvitation.objects.get().accepted_at is None


def test_an_invitation_link_needs_a_sign_in(
    client, bob, acme, charlie, mailoutbox, django_capture_on_commit_callbacks, client_for
):
    with django_capture_on_commit_callbacks(execute=True):
        add_person(client_for(bob), acme, charlie.email)
    response = client.get(invitation_link(mailoutbox))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_person_the_admin_already_administers_is_added_at_once(client_for, bob, acme, alice, mailoutbox):
    research = Organization.objects.create(name="Acme Research", parent=acme)
    response = add_person(client_for(bob), research, alice.email)
    assert response.status_code == 302
    assert Membership.objects.filter(organization=research, user=alice).exists()
    assert not OrganizationInvitation.objects.exists()
    assert mailoutbox == []


def test_an_unknown_token_is_a_404(client_for, alice):
    assert client_for(alice).get(reverse("organization-invitation", args=["nope"])).status_code == 404
