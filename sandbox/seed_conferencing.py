"""The sandbox's conferencing world: the product's apps at Zoom, Webex and Microsoft (Teams), and for the
demo Acme's Zoom account and Webex site (every Acme person a user), Meet through Acme's Workspace
delegation, and a Teams application access policy for Acme EMEA.

Idempotent, like `sandbox.seed`: apps are brought up to date with settings on every run; accounts are
created once.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from django.conf import settings

from sandbox.models import (
    DelegationGrant,
    MeetingAccount,
    MeetingApp,
    MeetingUser,
    OAuthClient,
    Person,
    Provider,
    ServiceAccount,
    TeamsAccessPolicy,
    Tenant,
)

# The product's registrations as a real provider's console would hold them (sandbox configuration: the
# sandbox knows nothing of the product; tests/test_scope_registry.py checks these against its registry).
TEAMS_APP_PERMISSIONS = ["OnlineMeetings.ReadWrite.All", "User.ReadBasic.All"]
ZOOM_USER_APP_SCOPES = ["meeting:write", "user:read"]
ZOOM_SERVER_TO_SERVER_SCOPES = ["meeting:write:admin", "user:read:admin"]
WEBEX_INTEGRATION_SCOPES = ["spark:kms", "meeting:admin_schedule_write", "spark:people_read", "meeting:schedules_write"]
MEET_DELEGATED_SCOPES = [
    "https://www.googleapis.com/auth/meetings.space.created",
    "https://www.googleapis.com/auth/meetings.space.readonly",
    "https://www.googleapis.com/auth/meetings.space.settings",
]


@dataclass(frozen=True)
class MeetingAccountSpec:
    provider: str
    name: str
    account_id: str
    site_url: str
    people: tuple[tuple[str, str, bool], ...]  # (email, name, is_admin)


ACME_PEOPLE = (
    ("bob@acme.example", "Bob Admin", True),
    ("alice@acme.example", "Alice Read-Write", False),
    ("frank@acme.example", "Frank Field", False),
    ("hana@acme.example", "Hana Ito", False),
    ("nina@legal.acme.example", "Nina No-Access", False),
    ("erin@emea.acme.example", "Erin Free-Busy", False),
    ("max@emea.acme.example", "Max Weber", False),
)
ACCOUNTS = (
    MeetingAccountSpec(Provider.ZOOM, "Acme Corporation", "sbxAcmeZoomAcct1", "", ACME_PEOPLE),
    MeetingAccountSpec(
        Provider.WEBEX,
        "Acme Corporation",
        "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9hY21l",
        "acme.webex.com",
        ACME_PEOPLE,
    ),
)
# Acme's own Server-to-Server OAuth app in its Zoom account: what its admin types into the console.
ACME_ZOOM_S2S_CLIENT_ID = "sbxAcmeS2SClient"
ACME_ZOOM_S2S_CLIENT_SECRET = "sandbox-acme-zoom-s2s-secret"  # noqa: S105  # public demo value


def _redirect_uris() -> list[str]:
    site = settings.SITE_URL.rstrip("/")
    return [
        f"{site}/admin/conferencing/conferencingservice/microsoft-callback/",
        f"{site}/admin/conferencing/conferencingservice/webex-callback/",
        f"{site}/conferencing/callback/zoom",
        f"{site}/conferencing/callback/webex",
    ]


def meeting_user_id(provider: str, account_id: str, email: str) -> str:
    """Stable ids in each provider's style: Zoom's 22 characters, Webex's base64 person URI."""
    digest = hashlib.sha256(f"{provider}:{account_id}:{email}".encode()).digest()
    if provider == Provider.ZOOM:
        return base64.urlsafe_b64encode(digest).decode()[:22]
    return base64.b64encode(f"ciscospark://us/PEOPLE/{digest.hex()[:32]}".encode()).decode().rstrip("=")


def conferencing_apps() -> dict[str, object]:
    """The product's registrations, brought up to date with settings: the Teams app registration, the
    Zoom user-managed app, the Webex integration."""
    apps: dict[str, object] = {}
    if settings.MICROSOFT_TEAMS_CLIENT_ID:
        apps["teams"], _ = OAuthClient.objects.update_or_create(
            client_id=settings.MICROSOFT_TEAMS_CLIENT_ID,
            defaults={
                "provider": Provider.MICROSOFT,
                "name": "Scheduling (Teams meetings)",
                "client_secret": settings.MICROSOFT_TEAMS_CLIENT_SECRET,
                "redirect_uris": _redirect_uris(),
                "application_permissions": list(TEAMS_APP_PERMISSIONS),
            },
        )
    if settings.ZOOM_CLIENT_ID:
        apps["zoom"], _ = MeetingApp.objects.update_or_create(
            client_id=settings.ZOOM_CLIENT_ID,
            defaults={
                "provider": Provider.ZOOM,
                "kind": MeetingApp.Kind.USER_OAUTH,
                "name": "Scheduling",
                "client_secret": settings.ZOOM_CLIENT_SECRET,
                "redirect_uris": _redirect_uris(),
                "scopes": list(ZOOM_USER_APP_SCOPES),
            },
        )
    if settings.WEBEX_CLIENT_ID:
        apps["webex"], _ = MeetingApp.objects.update_or_create(
            client_id=settings.WEBEX_CLIENT_ID,
            defaults={
                "provider": Provider.WEBEX,
                "kind": MeetingApp.Kind.INTEGRATION,
                "name": "Scheduling",
                "client_secret": settings.WEBEX_CLIENT_SECRET,
                "redirect_uris": _redirect_uris(),
                "scopes": list(WEBEX_INTEGRATION_SCOPES),
            },
        )
    return apps


def meeting_account(spec: MeetingAccountSpec) -> MeetingAccount:
    account, created = MeetingAccount.objects.get_or_create(
        account_id=spec.account_id, defaults={"provider": spec.provider, "name": spec.name, "site_url": spec.site_url}
    )
    if created:
        for email, name, admin in spec.people:
            first, _, last = name.partition(" ")
            MeetingUser.objects.create(
                account=account,
                email=email,
                user_id=meeting_user_id(spec.provider, spec.account_id, email),
                first_name=first,
                last_name=last,
                is_admin=admin,
            )
    return account


def zoom_server_to_server_app(
    account: MeetingAccount, *, client_id: str, client_secret: str, scopes: list[str]
) -> MeetingApp:
    app, _ = MeetingApp.objects.update_or_create(
        client_id=client_id,
        defaults={
            "provider": Provider.ZOOM,
            "kind": MeetingApp.Kind.SERVER_TO_SERVER,
            "account": account,
            "name": "Scheduling meetings",
            "client_secret": client_secret,
            "scopes": scopes,
        },
    )
    return app


def meet_delegation(tenant: Tenant, account: ServiceAccount) -> DelegationGrant:
    """The Workspace admin also delegates the Meet scopes to the product's service account."""
    meet = MEET_DELEGATED_SCOPES
    grant, _ = DelegationGrant.objects.get_or_create(tenant=tenant, service_account=account, defaults={"scopes": []})
    missing = [scope for scope in meet if scope not in grant.scopes]
    if missing:
        grant.scopes = [*grant.scopes, *missing]
        grant.save(update_fields=["scopes"])
    return grant


def teams_policy(tenant: Tenant, client: OAuthClient, *, people: list[Person] | None = None) -> TeamsAccessPolicy:
    """The tenant's Teams admin granted the app an application access policy (for everyone, or for some)."""
    policy, _ = TeamsAccessPolicy.objects.get_or_create(tenant=tenant, client=client)
    if people is None:
        policy.is_global = True
        policy.save(update_fields=["is_global"])
    else:
        policy.people.add(*people)
    return policy


def conferencing_seed() -> dict[str, object]:
    """The demo's conferencing world (after `sandbox_seed` made the tenants)."""
    apps = conferencing_apps()
    accounts = {spec.provider: meeting_account(spec) for spec in ACCOUNTS}
    zoom_server_to_server_app(
        accounts[Provider.ZOOM],
        client_id=ACME_ZOOM_S2S_CLIENT_ID,
        client_secret=ACME_ZOOM_S2S_CLIENT_SECRET,
        scopes=list(ZOOM_SERVER_TO_SERVER_SCOPES),
    )
    service_account = ServiceAccount.objects.filter(client__client_id=settings.GOOGLE_CLIENT_ID).first()
    acme = next((t for t in Tenant.objects.filter(provider=Provider.GOOGLE) if "acme.example" in t.domains), None)
    if service_account is not None and acme is not None:
        meet_delegation(acme, service_account)
    emea = next(
        (t for t in Tenant.objects.filter(provider=Provider.MICROSOFT) if "emea.acme.example" in t.domains), None
    )
    if emea is not None and "teams" in apps:
        teams_policy(emea, apps["teams"])  # type: ignore[arg-type]
    return {
        "zoom": {
            "account_id": accounts[Provider.ZOOM].account_id,
            "client_id": ACME_ZOOM_S2S_CLIENT_ID,
            "client_secret": ACME_ZOOM_S2S_CLIENT_SECRET,
        },
        "webex": {"site": accounts[Provider.WEBEX].site_url, "org_id": accounts[Provider.WEBEX].account_id},
    }
