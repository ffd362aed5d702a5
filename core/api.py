"""Errors of every `/v1` view in Cronofy's shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import UpstreamError
from core.json_limits import MAX_BYTES, JsonRefused, load_json


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with a size and a nesting limit: 400 before anything deep is parsed."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        raw = stream.read(MAX_BYTES + 1) if stream is not None else b""
        try:
            return load_json(raw)
        except JsonRefused as refusal:
            raise exceptions.ParseError(str(refusal)) from None


def _errors_from(detail: Any) -> dict[str, list[dict[str, str]]]:
    if isinstance(detail, dict):
        errors = {}
        for field, items in detail.items():
            entries = items if isinstance(items, list) else [items]
            flat = []
            for entry in entries:
                if isinstance(entry, dict):
                    nested = _errors_from(entry)
                    for sub_field, sub_entries in nested.items():
                        errors[f"{field}.{sub_field}"] = sub_entries
                    continue
                code = getattr(entry, "code", "invalid")
                flat.append({"key": f"errors.{code}", "description": str(entry)})
            if flat:
                errors[field] = flat
        return errors
    entries = detail if isinstance(detail, list) else [detail]
    return {"request": [{"key": f"errors.{getattr(e, 'code', 'invalid')}", "description": str(e)} for e in entries]}


def cronofy_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """422 with `{"errors": {field: [{key, description}]}}` for bad input, as Cronofy answers;
    a short `{"message": ...}` for 401, 403, 404 and the rest.

    A service refusing a write raises Django's ValidationError; it becomes the same 422 here, once,
    so views call services without translating their errors."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, exceptions.ValidationError):
        return Response({"errors": _errors_from(exc.detail)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, UpstreamError):
        return Response(
            {"message": "The calendar provider could not complete the request; try again later."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE if exc.retryable else status.HTTP_502_BAD_GATEWAY,
        )
    response = exception_handler(exc, context)
    detail = getattr(exc, "detail", None)
    if response is not None and isinstance(detail, str | exceptions.ErrorDetail):
        response.data = {"message": str(detail)}
    return response
