"""How the OpenAPI schema describes every `/v1` operation beyond its own answer: the errors Cronofy's
API answers with, in its shapes, so integrators (and the schema tests) know every body to expect."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema

from core.api_outputs import ErrorMessageOutput, ValidationErrorOutput


class CronofyAutoSchema(AutoSchema):
    """drf-spectacular's schema with each operation's error answers added."""

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction=direction)
        errors: dict[str, tuple[type, str]] = {
            "400": (ErrorMessageOutput, "The body is not JSON, or is too large or too deeply nested."),
            "401": (ErrorMessageOutput, "No credentials, or credentials that are invalid, expired or revoked."),
            "403": (ErrorMessageOutput, "The credentials do not grant what this call needs."),
            "422": (ValidationErrorOutput, "Invalid parameters: each field with what is wrong with it."),
            "429": (ErrorMessageOutput, "Too many requests: wait for the seconds Retry-After gives."),
        }
        if "{" in self.path:
            errors["404"] = (ErrorMessageOutput, "Nothing of this account (for this application) has this id.")
        for status, (serializer, description) in errors.items():
            if status not in responses:
                response = self._get_response_for_code(serializer, status, direction=direction)
                response["description"] = description
                responses[status] = response
        return responses
