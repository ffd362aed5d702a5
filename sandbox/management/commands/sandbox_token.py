import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.provider_urls import REAL, provider_url
from sandbox import tokens
from sandbox.models import DelegationGrant, OAuthClient, Person, Provider, ServiceAccount, Token


def url(name: str) -> str:
    """Where a client library reaches this provider URL, as the product's clients are configured."""
    return provider_url(
        name,
        sandbox_enabled=settings.SANDBOX_ENABLED,
        sandbox_url=settings.SANDBOX_URL,
        overrides=settings.PROVIDER_URL_OVERRIDES,
    )


def microsoft_authority_host() -> str:
    # MSAL accepts only an https authority; a plain-http sandbox is reached through an HTTP seam.
    login = url("MICROSOFT_LOGIN_URL").rstrip("/")
    return login if login.startswith("https://") else REAL["MICROSOFT_LOGIN_URL"]


class Command(BaseCommand):
    help = (
        "Mint a sandbox access token for a sandbox user (or, with --service-account, for the product's "
        "service account acting as that user) and print it with the base URLs each client library needs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="A sandbox person's email address.")
        parser.add_argument("--scope", action="append", default=[], help="A scope; repeat, or space-separate.")
        parser.add_argument(
            "--service-account",
            action="store_true",
            help="Google: as the service account with domain-wide delegation (checks the grant).",
        )
        parser.add_argument("--client-id", default="", help="The OAuth client (defaults to the product's).")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        person = Person.objects.select_related("tenant").filter(email__iexact=options["user"]).first()
        if person is None:
            raise CommandError(f"No sandbox person {options['user']} (run seed_demo first).")
        scopes = [scope for item in options["scope"] for scope in item.split()]
        if not scopes:
            raise CommandError("Give at least one --scope.")
        provider = person.tenant.provider
        default_client = settings.GOOGLE_CLIENT_ID if provider == Provider.GOOGLE else settings.MICROSOFT_CLIENT_ID
        client = OAuthClient.objects.filter(provider=provider, client_id=options["client_id"] or default_client).first()
        if client is None:
            raise CommandError("The OAuth client is not registered in the sandbox (run seed_demo first).")
        if options["service_account"]:
            account = ServiceAccount.objects.filter(client=client).first()
            grant = DelegationGrant.objects.filter(tenant=person.tenant, service_account=account).first()
            if account is None or grant is None or not set(scopes) <= set(grant.scopes):
                raise CommandError("The tenant's admin has not delegated these scopes to the service account.")
        value, token = tokens.issue(
            kind=Token.Kind.ACCESS, provider=provider, client=client, person=person, scopes=scopes
        )
        endpoints = {
            "google_calendar_api": url("GOOGLE_CALENDAR_API_URL"),
            "google_token": url("GOOGLE_TOKEN_URL"),
            "google_authorize": url("GOOGLE_AUTHORIZE_URL"),
            "microsoft_authority": f"{microsoft_authority_host()}/{person.tenant.external_id}",
            "microsoft_login": url("MICROSOFT_LOGIN_URL"),
            "microsoft_graph": f"{url('MICROSOFT_GRAPH_URL').rstrip('/')}/v1.0",
        }
        result = {
            "provider": provider,
            "user": person.email,
            "tenant": person.tenant.external_id,
            "access_token": value,
            "token_type": "Bearer",
            "expires_in": tokens.ACCESS_TOKEN_SECONDS,
            "expires_at": token.expires_at.isoformat(),
            "scopes": scopes,
            "endpoints": endpoints,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(f"Access token for {person.email} ({provider}), valid {tokens.ACCESS_TOKEN_SECONDS} s:")
        self.stdout.write(value)
        for name, address in endpoints.items():
            self.stdout.write(f"  {name:<22} {address}")
