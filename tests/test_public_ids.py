import re

import pytest
from django.apps import apps

from accounts.models import Organization, User
from calendars.models import CalendarProfile
from core.public_ids import PublicIdField, new_public_id


def all_public_id_fields() -> list[tuple[str, PublicIdField]]:
    return [
        (model._meta.label, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, PublicIdField)
    ]


def test_it_gives_every_object_a_prefixed_random_id():
    assert re.fullmatch(r"acc_[a-z2-7]{24}", new_public_id("acc"))
    assert new_public_id("acc") != new_public_id("acc")


def test_it_generates_the_id_when_the_object_is_built():
    user = User(email="x@example.com")
    assert user.public_id.startswith("acc_")
    assert Organization(name="x").public_id.startswith("org_")
    assert CalendarProfile().public_id.startswith("pro_")


def test_it_uses_cronofys_prefixes_and_no_prefix_twice():
    prefixes = {label: field.prefix for label, field in all_public_id_fields()}
    assert prefixes["accounts.User"] == "acc"
    assert prefixes["calendars.CalendarProfile"] == "pro"
    assert prefixes["calendars.Calendar"] == "cal"
    # Cronofy gives calendar and conferencing profiles the same prefix; nothing else shares one.
    assert prefixes.pop("conferencing.ConferencingProfile") == "pro"
    assert len(set(prefixes.values())) == len(prefixes)


def test_every_public_id_is_unique_and_not_editable():
    for label, field in all_public_id_fields():
        assert field.unique, label
        assert not field.editable, label


def test_it_refuses_a_prefix_that_is_not_lowercase_letters():
    with pytest.raises(ValueError, match="lower-case"):
        PublicIdField(prefix="Acc")


@pytest.mark.django_db
def test_a_saved_id_is_stable(alice):
    public_id = alice.public_id
    alice.refresh_from_db()
    assert alice.public_id == public_id
    assert not public_id.removeprefix("acc_").isdigit()
