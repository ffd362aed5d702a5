import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import MAX_ORGANIZATION_DEPTH, AuditEvent, Role
from accounts.selectors import administered_organization_ids
from accounts.services import membership_set, organization_create, organization_update
from conftest import make_user

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


def test_the_organization_page_lists_its_members_a_page_at_a_time(acme, bob, client_for):
    for number in range(20):
        membership_set(organization=acme, user=make_user(f"m{number:02}@acme.example"), role=Role.MEMBER, actor=None)
    client = client_for(bob)
    url = f"/admin/accounts/organization/{acme.pk}/change/"

    def page(query: str = "") -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url + query)
        assert response.status_code == 200
        return response.content.decode(), len(captured)

    first, first_queries = page()
    assert 'name="memberships-INITIAL_FORMS" value="20"' in first
    assert "?members_page=2" in first
    for number in range(20, 60):
        membership_set(organization=acme, user=make_user(f"m{number:02}@acme.example"), role=Role.MEMBER, actor=None)
    _, more_queries = page()
    assert more_queries == first_queries  # a page costs the same however many members there are
    last, _ = page("?members_page=4")
    assert 'name="memberships-INITIAL_FORMS" value="1"' in last  # 61 members with Bob: 20 + 20 + 20 + 1
    assert "?members_page=3" in last and "?members_page=5" not in last
