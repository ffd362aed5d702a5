"""Django's ValidationError, raised by a service under a /v1 view, answers Cronofy's 422, as bad input does."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView


def _view_raising(error: ValidationError):
    class RefusingView(APIView):
        authentication_classes: list = []
        permission_classes: list = []

        def post(self, request):
            raise error

    return RefusingView.as_view()


@pytest.mark.parametrize(
    ("error", "errors"),
    [
        (
            ValidationError({"end": ["must be after start."]}),
            {"end": [{"key": "errors.invalid", "description": "must be after start."}]},
        ),
        (
            ValidationError("The calendar is read-only."),
            {"request": [{"key": "errors.invalid", "description": "The calendar is read-only."}]},
        ),
    ],
    ids=["a field's error", "the request's error"],
)
def test_a_services_validation_error_answers_422_in_cronofys_shape(error, errors):
    response = _view_raising(error)(APIRequestFactory().post("/v1/anything", {}, format="json"))
    assert response.status_code == 422
    assert response.data == {"errors": errors}
