import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, Membership, Role
from accounts.services import member_create, membership_remove, membership_set
from conftest import make_user

pytestmark = pytest.mark.django_db


def test_owners_and_admins_reach_the_console_and_members_do_not(acme, bob, alice):
    assert bob.is_staff
    alice.refresh_from_db()
    assert not alice.is_staff


def test_console_access_follows_the_role(acme, bob, alice):
    membership_set(organization=acme, user=alice, role=Role.ADMIN, actor=bob)
    alice.refresh_from_db()
    assert alice.is_staff
    membership_set(organization=acme, user=alice, role=Role.MEMBER, actor=bob)
    alice.refresh_from_db()
    assert not alice.is_staff


def test_removing_the_last_admin_role_removes_console_access(acme, bob, dave):
    membership_remove(membership=Membership.objects.get(user=dave, organization=acme), actor=bob)
    dave.refresh_from_db()
    assert not dave.is_staff


def test_an_admin_who_is_not_owner_cannot_grant_the_owner_role(acme, bob, dave, alice):
    with pytest.raises(ValidationError, match="Only an owner"):
        membership_set(organization=acme, user=alice, role=Role.OWNER, actor=dave)
    assert Membership.objects.get(user=alice).role == Role.MEMBER


def test_an_admin_who_is_not_owner_cannot_demote_an_owner(acme, bob, dave):
    with pytest.raises(ValidationError, match="Only an owner"):
        membership_set(organization=acme, user=bob, role=Role.MEMBER, actor=dave)


def test_the_last_owner_stays(acme, bob):
    with pytest.raises(ValidationError, match="without an owner"):
        membership_set(organization=acme, user=bob, role=Role.ADMIN, actor=bob)
    with pytest.raises(ValidationError, match="without an owner"):
        membership_remove(membership=Membership.objects.get(user=bob), actor=bob)
    assert Membership.objects.get(user=bob).role == Role.OWNER


def test_an_owner_can_hand_over_ownership(acme, bob, dave):
    membership_set(organization=acme, user=dave, role=Role.OWNER, actor=bob)
    membership_set(organization=acme, user=bob, role=Role.MEMBER, actor=dave)
    assert Membership.objects.get(user=bob).role == Role.MEMBER


def test_an_admin_adds_a_new_person_to_their_organization(acme, dave):
    user = member_create(organization=acme, email="new@acme.example", name="New", role=Role.MEMBER, actor=dave)
    assert Membership.objects.get(user=user).organization == acme
    actions = list(AuditEvent.objects.filter(actor=dave).values_list("action", flat=True))
    assert "member_added" in actions
    assert "user_created" in actions


def test_a_person_is_in_an_organization_once(acme, alice):
    other = make_user("other@acme.example")
    membership_set(organization=acme, user=other, role=Role.MEMBER, actor=None)
    membership_set(organization=acme, user=other, role=Role.MEMBER, actor=None)
    assert Membership.objects.filter(user=other).count() == 1


def test_an_unknown_role_is_refused(acme, alice):
    with pytest.raises(ValidationError, match="not a role"):
        membership_set(organization=acme, user=alice, role="emperor", actor=None)
