"""Reads for accounts and organizations, scoped to what the caller may see."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import MAX_ORGANIZATION_DEPTH, Application, Grant, Membership, Organization, Role, User


def application_by_client_id(client_id: str) -> Application | None:
    """The registered application of this OAuth client id (with its client), or None."""
    if not client_id:
        return None
    return Application.objects.select_related("client").filter(client_id=client_id).first()


def administered_organizations(*, user: User | AnonymousUser) -> list[Organization]:
    """The organizations `administered_organization_ids` names, by name."""
    return list(Organization.objects.filter(pk__in=administered_organization_ids(user=user)).order_by("name"))


def administered_organization_ids(*, user: User | AnonymousUser) -> frozenset[int]:
    """Organizations the user administers: where they are owner or admin, and every unit below those.

    One query per level of nesting, bounded by MAX_ORGANIZATION_DEPTH; independent of how many
    organizations there are.
    """
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    administered = set(
        Membership.objects.filter(user=user, role__in=Role.administering()).values_list("organization_id", flat=True)
    )
    frontier = set(administered)
    for _ in range(MAX_ORGANIZATION_DEPTH):
        if not frontier:
            break
        children = set(Organization.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
        frontier = children - administered
        administered |= frontier
    return frozenset(administered)


def organization_tree_ids(*, organization: Organization) -> frozenset[int]:
    """The organization and every unit below it (one query per level of nesting)."""
    tree = {organization.pk}
    frontier = {organization.pk}
    for _ in range(MAX_ORGANIZATION_DEPTH):
        frontier = set(Organization.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - tree
        if not frontier:
            break
        tree |= frontier
    return frozenset(tree)


def request_administered_organization_ids(request: HttpRequest) -> frozenset[int]:
    """administered_organization_ids for the request's user, computed once per request."""
    cached = getattr(request, "_administered_organization_ids", None)
    if cached is None:
        cached = administered_organization_ids(user=request.user)
        request._administered_organization_ids = cached  # type: ignore[attr-defined]
    return cached


def organization_subtree_ids(*, organization_id: int) -> frozenset[int]:
    """The organization and every unit below it (one query per level, bounded like the tree)."""
    found = {organization_id}
    frontier = {organization_id}
    for _ in range(MAX_ORGANIZATION_DEPTH):
        if not frontier:
            break
        frontier = set(Organization.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - found
        found |= frontier
    return frozenset(found)


def organization_lineage_ids(*, organization_ids: set[int] | frozenset[int]) -> frozenset[int]:
    """These organizations and every unit above them."""
    found = set(organization_ids)
    frontier = set(organization_ids)
    for _ in range(MAX_ORGANIZATION_DEPTH):
        parents = set(
            Organization.objects.filter(pk__in=frontier, parent__isnull=False).values_list("parent_id", flat=True)
        )
        frontier = parents - found
        if not frontier:
            break
        found |= frontier
    return frozenset(found)


def users_of_organizations(*, organization_ids: frozenset[int] | set[int]) -> QuerySet[User]:
    return User.objects.filter(memberships__organization_id__in=organization_ids).distinct()


def people_wholly_administered(*, organization_ids: frozenset[int] | set[int]) -> QuerySet[User]:
    """People every one of whose organizations is among these: an admin of these organizations speaks
    for everything of theirs that belongs to no organization's service. Superusers are nobody's."""
    elsewhere = Organization.objects.exclude(pk__in=organization_ids)
    return (
        User.objects.filter(memberships__organization_id__in=organization_ids, is_superuser=False)
        .exclude(memberships__organization__in=elsewhere)
        .distinct()
    )


def user_is_owner(*, user: User, organization: Organization) -> bool:
    """Owner of the organization or of a unit above it (owners of a parent own its sub-units)."""
    if user.is_superuser:
        return True
    lineage = [organization.pk, *(ancestor.pk for ancestor in organization.ancestors())]
    return Membership.objects.filter(user=user, organization_id__in=lineage, role=Role.OWNER).exists()


def organization_owner_count(*, organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


def user_has_console_role(*, user: User) -> bool:
    return Membership.objects.filter(user=user, role__in=Role.administering()).exists()


def staff_second_factor_missing(user: User) -> bool:
    """A staff account that must set up a second factor before the IT-admin console opens to it.

    allauth asks every account that has an authenticator for it at sign-in, so having one is enough.
    """
    return (
        settings.STAFF_MFA_REQUIRED
        and user.is_authenticated
        and user.is_staff
        and not is_mfa_enabled(user, [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN])
    )


def user_has_granted_scope(*, user_id: int, scope: str) -> bool:
    """Whether any live grant of the account includes `scope` (grants hold scopes expanded)."""
    return any(
        scope in scopes
        for scopes in Grant.objects.filter(user_id=user_id, revoked_at__isnull=True).values_list("scopes", flat=True)
    )


def user_listed_by_organization(*, user: User, organization: Organization) -> bool:
    """Whether the organization lists the person among its people (a membership of it or of a unit
    below it): its word for who they are, as its directory keeps it."""
    for membership in Membership.objects.filter(user=user).select_related("organization"):
        unit = membership.organization
        if unit.pk == organization.pk or organization.pk in {ancestor.pk for ancestor in unit.ancestors()}:
            return True
    return False
