"""The demo's directory services: Acme reads its Google Workspace and its Microsoft 365 tenant (Acme
EMEA), Globex its Google Workspace and its SuccessFactors company. Each is authorized at the sandbox
with the credentials a real admin would give (a delegated service account acting as the Workspace
admin, admin consent to the directory app registration, a SuccessFactors OAuth client with a
certificate) and gets its first round, which onboards the people the demo did not create by hand
(Frank and Hana among them).

The first round happens while seeding, before the web server that serves the sandbox's APIs runs, so
it reads the sandbox's tables through `SandboxDirectorySnapshot`; the schedule's rounds after it read
the same directories over HTTP through the real clients.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q

from accounts.models import ConnectionStatus, Organization, User
from calendars.providers import endpoints
from directory.clients import directory_scopes
from directory.models import DirectoryProvider, DirectoryRound, DirectoryService, RoundStatus
from directory.providers.base import DirectoryPerson, DirectoryRoom, PeopleListing, PersonStatus, ProgressCallback
from directory.providers.successfactors import generate_signing_pair
from directory.rounds import directory_round
from directory.services import directory_service_authorize, directory_service_connect
from sandbox.models import AdminConsent, HrUser, OAuthClient, Person, Provider, ServiceAccount, Tenant
from sandbox.seed import SUCCESSFACTORS_CLIENT_ID, successfactors_client


@dataclass(frozen=True)
class DemoDirectory:
    organization: str
    provider: str
    tenant: str  # the sandbox tenant's id
    acting_user: str = ""


DIRECTORIES = (
    DemoDirectory("Acme Corporation", DirectoryProvider.GOOGLE, "C0acme4x2", "bob@acme.example"),
    DemoDirectory("Acme Corporation", DirectoryProvider.MICROSOFT, "3f1b6a2e-8c4d-4e0f-9a57-2b6d8e1c0f93"),
    DemoDirectory("Globex", DirectoryProvider.GOOGLE, "C0globex7", "charlie@globex.example"),
    DemoDirectory("Globex", DirectoryProvider.SUCCESSFACTORS, "GLOBEXHR", "sfapi"),
)


class SandboxDirectorySnapshot:
    """A directory client over the sandbox's own tables: what its API would list, for the first round
    at seeding time."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    def verified_domains(self) -> list[str]:
        return [] if self.tenant.provider == Provider.SUCCESSFACTORS else list(self.tenant.domains)

    def people(self, *, cursor: str | None, progress: ProgressCallback | None = None) -> PeopleListing:
        if self.tenant.provider == Provider.SUCCESSFACTORS:
            people = [
                DirectoryPerson(
                    external_id=user.user_id,
                    email=user.email.lower(),
                    name=user.display_name,
                    status=PersonStatus.ACTIVE if user.status == HrUser.Status.ACTIVE else PersonStatus.SUSPENDED,
                    unit=user.department,
                )
                for user in HrUser.objects.filter(tenant=self.tenant).order_by("pk")
            ]
        else:
            people = [
                DirectoryPerson(
                    external_id=person.external_id,
                    email=person.email,
                    name=person.name,
                    status=PersonStatus.DELETED
                    if person.deleted_at
                    else PersonStatus.SUSPENDED
                    if person.suspended
                    else PersonStatus.ACTIVE,
                    unit=person.org_unit_path if self.tenant.provider == Provider.GOOGLE else person.department,
                )
                for person in Person.objects.filter(tenant=self.tenant, kind=Person.Kind.USER).order_by("email")
            ]
        if progress is not None:
            progress(len(people))
        return PeopleListing(pages=[people], full=True, cursor="")

    def rooms(self) -> list[DirectoryRoom]:
        return [
            DirectoryRoom(
                external_id=room.external_id,
                email=room.email,
                name=room.name,
                capacity=room.capacity,
                building=room.building,
                floor=room.floor,
            )
            for room in Person.objects.filter(tenant=self.tenant, kind=Person.Kind.ROOM, deleted_at__isnull=True)
        ]

    def missing_permissions(self) -> list[str]:
        return []


def _credentials(spec: DemoDirectory, tenant: Tenant) -> dict[str, object]:
    """What the organization's admin would have given, set up at the sandbox as its admin would."""
    if spec.provider == DirectoryProvider.GOOGLE:
        account = ServiceAccount.objects.get(client__client_id=settings.GOOGLE_CLIENT_ID)
        return {"kind": "google_service_account", "key": account.key}
    if spec.provider == DirectoryProvider.MICROSOFT:
        app = OAuthClient.objects.get(client_id=settings.MICROSOFT_DIRECTORY_CLIENT_ID)
        AdminConsent.objects.update_or_create(
            tenant=tenant, client=app, defaults={"permissions": app.application_permissions}
        )
        return {"kind": "microsoft_app", "tenant_id": tenant.external_id}
    key, certificate = generate_signing_pair("scheduling-demo")
    client = successfactors_client(tenant.external_id)
    if client is None:  # the sandbox seed registers the product's client in every SuccessFactors company
        raise RuntimeError(f"The sandbox SuccessFactors company {tenant.external_id} has no OAuth client.")
    client.x509_certificate = certificate  # the admin registers the certificate with the OAuth client
    client.save(update_fields=["x509_certificate"])
    return {
        "kind": "successfactors_saml",
        "client_id": SUCCESSFACTORS_CLIENT_ID,
        "private_key": key,
        "certificate": certificate,
    }


def demo_directories_connect(*, organizations: dict[str, Organization], password: str) -> None:
    """Connect, authorize and run a first round of each demo directory (once); people it onboards get the
    demo password so they can sign in."""
    for spec in DIRECTORIES:
        organization = organizations[spec.organization]
        tenant = Tenant.objects.filter(external_id=spec.tenant).first()
        if tenant is None:
            continue
        service = DirectoryService.objects.filter(organization=organization, provider=spec.provider).exclude(
            status=ConnectionStatus.DISCONNECTED
        ).first() or directory_service_connect(organization=organization, provider=spec.provider, connected_by=None)
        if service.status != ConnectionStatus.ACTIVE:
            DirectoryService.objects.filter(pk=service.pk).update(
                acting_user=spec.acting_user,
                api_url=endpoints.url("SUCCESSFACTORS_API_URL")
                if spec.provider == DirectoryProvider.SUCCESSFACTORS
                else "",
                offboarding_threshold=25,
            )
            service.refresh_from_db()
            directory_service_authorize(
                service=service,
                credentials=_credentials(spec, tenant),
                granted_scopes=directory_scopes(spec.provider),
                external_id=tenant.external_id,
                actor=None,
            )
        if not service.rounds.filter(status=RoundStatus.SUCCEEDED).exists():
            directory_round(service=service, client=SandboxDirectorySnapshot(tenant))
    for user in User.objects.filter(directory_entries__isnull=False, is_active=True).distinct():
        if not user.has_usable_password():
            user.set_password(password)
            user.save(update_fields=["password"])


def demo_directories_summary(*, organizations: dict[str, Organization]) -> dict[str, list[dict[str, object]]]:
    """Each organization's directory services with their counts, for `seed_demo --json`."""
    summary: dict[str, list[dict[str, object]]] = {}
    services = (
        DirectoryService.objects.filter(organization__in=organizations.values())
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .annotate(
            onboarded=Count("people", filter=Q(people__user__isnull=False, people__offboarded_at__isnull=True)),
            offboarded=Count("people", filter=Q(people__offboarded_at__isnull=False)),
            listed=Count("people"),
        )
        .select_related("organization")
        .order_by("organization__name", "provider")
    )
    for service in services:
        rooms = service.resources.filter(removed_at__isnull=True).count()
        last = DirectoryRound.objects.filter(service=service, dry_run=False).order_by("started_at").first()
        summary.setdefault(service.organization.name, []).append(
            {
                "directory_id": service.public_id,
                "provider": service.provider,
                "status": service.status,
                "people_listed": service.listed,
                "people_onboarded": service.onboarded,
                "people_offboarded": service.offboarded,
                "rooms": rooms,
                "first_round": last.summary() if last else None,
            }
        )
    return summary
