import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.services import user_create
from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_email_is_the_login_whatever_its_case():
    make_user("Alice@Acme.Example")
    user = authenticate(username="ALICE@acme.example", password=PASSWORD)
    assert user is not None
    assert user.email == "alice@acme.example"


def test_an_email_belongs_to_one_user_only():
    make_user("alice@acme.example")
    with pytest.raises(ValidationError, match="already exists"):
        user_create(email="ALICE@acme.example")


def test_a_new_user_has_an_account_id_and_an_allauth_address():
    user = user_create(email="new@acme.example", name="New")
    assert user.public_id.startswith("acc_")
    assert not user.has_usable_password()
    address = EmailAddress.objects.get(user=user)
    assert address.primary
    assert not address.verified


def test_a_superuser_is_staff():
    user = User.objects.create_superuser("root@platform.example", PASSWORD)
    assert user.is_staff
    assert user.is_superuser


def test_the_time_zone_must_exist():
    user = User(email="tz@acme.example", default_tzid="Mars/Olympus")
    with pytest.raises(ValidationError) as error:
        user.full_clean(exclude=["password"])
    assert "not a known time zone" in str(error.value)
