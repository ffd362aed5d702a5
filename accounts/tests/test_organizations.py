import pytest
from django.core.exceptions import ValidationError

from accounts.models import MAX_ORGANIZATION_DEPTH, AuditEvent, Role
from accounts.selectors import administered_organization_ids
from accounts.services import membership_set, organization_create, organization_update

pytestmark = pytest.mark.django_db


def test_units_nest_and_admins_of_a_unit_administer_the_units_below(acme, bob, alice):
    emea = organization_create(name="Acme EMEA", parent=acme, actor=bob)
    paris = organization_create(name="Acme Paris", parent=emea, actor=bob)
    assert administered_organization_ids(user=bob) == {acme.pk, emea.pk, paris.pk}
    membership_set(organization=paris, user=alice, role=Role.ADMIN, actor=bob)
    assert administered_organization_ids(user=alice) == {paris.pk}  # not upwards


def test_a_member_administers_nothing(alice):
    assert administered_organization_ids(user=alice) == frozenset()


def test_an_organization_cannot_be_put_inside_itself(acme, bob):
    child = organization_create(name="Child", parent=acme, actor=bob)
    with pytest.raises(ValidationError, match="inside itself"):
        organization_update(organization=acme, actor=bob, name="Acme", parent=child)
    acme.refresh_from_db()
    assert acme.parent is None


def test_nesting_is_bounded(acme):
    parent = acme
    for level in range(MAX_ORGANIZATION_DEPTH - 1):
        parent = organization_create(name=f"Level {level}", parent=parent, actor=None)
    with pytest.raises(ValidationError, match="levels deep"):
        organization_create(name="Too deep", parent=parent, actor=None)


def test_changes_are_audited(acme, bob):
    organization_update(organization=acme, actor=bob, name="Acme Corp", parent=None)
    event = AuditEvent.objects.filter(organization=acme, action="organization_updated").get()
    assert event.actor == bob
    assert event.changes == {"name": ["Acme", "Acme Corp"]}
