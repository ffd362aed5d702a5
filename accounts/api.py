"""The base classes of every `/v1` view: who may call it and how they authenticate."""

from __future__ import annotations

from rest_framework.views import APIView

from accounts.api_auth import AccessTokenAuthentication, ApplicationAuthentication, HasScope, IsApplication


class AccountApiView(APIView):
    """An endpoint called with an account's access token."""

    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [HasScope]


class ApplicationApiView(APIView):
    """An endpoint called with the application's client secret."""

    authentication_classes = [ApplicationAuthentication]
    permission_classes = [IsApplication]
