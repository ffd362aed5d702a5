"""drf-spectacular extensions: how the OpenAPI document describes our bearer schemes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.AccessTokenAuthentication"
    name = "accessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An account's access token from /oauth/token."}


class ApplicationSecretScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ApplicationAuthentication"
    name = "clientSecret"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "The application's client secret."}


class ServiceAccountTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ServiceAccountAuthentication"
    name = "serviceAccountToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An Enterprise Connect service account's access token from /oauth/token.",
        }
