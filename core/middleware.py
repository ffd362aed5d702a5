"""Request-wide limits for the API and the OAuth endpoints."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.json_limits import JsonRefused, check_limits

LIMITED_PREFIXES = ("/v1/", "/oauth/")


class JsonBodyLimits:
    """Every JSON body sent to `/v1` or `/oauth` is checked for size and nesting before any view runs,
    whether or not the view reads it: too large or too deep is a 400, on every endpoint alike."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(LIMITED_PREFIXES) and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            refusal = self._refusal(request)
            if refusal:
                return JsonResponse({"message": refusal}, status=400)
        return self.get_response(request)

    @staticmethod
    def _refusal(request: HttpRequest) -> str:
        try:
            body = request.body
        except RequestDataTooBig:
            return "The body is too large."
        if not body or request.content_type != "application/json":
            return ""
        try:
            check_limits(body)
        except JsonRefused as refusal:
            return str(refusal)
        return ""
