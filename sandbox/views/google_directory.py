"""Google Admin SDK Directory API v1 (admin.googleapis.com/admin/directory/v1): users.list, users.get, domains.list
and resources.calendars.list, with the discovery document's scopes, the acting user an administrator
of the customer (domain-wide delegation acts as a named admin), and page tokens."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from sandbox.directory import deleted_long_ago
from sandbox.models import Person, Provider, Tenant, Token
from sandbox.scopes import google_admin_allows
from sandbox.views.common import ApiError, access_token, endpoint, google_error, token_person

PAGE_SALT = "sandbox.google.directory.page"
USERS_DEFAULT_PAGE, USERS_MAX_PAGE = 100, 500
RESOURCES_MAX_PAGE = 500


def _caller(request: HttpRequest, method_id: str) -> Token:
    token = access_token(request, Provider.GOOGLE)
    if not google_admin_allows(method_id, token.scopes):
        raise ApiError(
            google_error(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                status_name="PERMISSION_DENIED",
            )
        )
    # The Directory API answers only to administrators of the customer (the user a service account
    # impersonates must be one).
    if token.person is None or not token.person.is_admin or token.person.tenant.provider != Provider.GOOGLE:
        raise ApiError(google_error(403, "forbidden", "Not Authorized to access this resource/api"))
    return token


def _customer(token: Token, customer: str, domain: str = "") -> Tenant:
    tenant = token_person(token).tenant
    if domain:
        if domain.lower() not in tenant.domains:
            raise ApiError(google_error(403, "forbidden", "Not Authorized to access this resource/api"))
        return tenant
    if not customer:
        raise ApiError(google_error(400, "badRequest", "Bad Request"))
    if customer not in ("my_customer", tenant.external_id):
        raise ApiError(google_error(403, "forbidden", "Not Authorized to access this resource/api"))
    return tenant


def _max_results(request: HttpRequest, default: int, largest: int) -> int:
    try:
        size = int(request.GET.get("maxResults", default))
    except ValueError:
        raise ApiError(google_error(400, "invalid", "Invalid value for: maxResults", location="maxResults")) from None
    if not 1 <= size <= largest:
        raise ApiError(google_error(400, "invalid", "Invalid value for: maxResults", location="maxResults"))
    return size


def _page_after(request: HttpRequest, kind: str) -> str:
    token = request.GET.get("pageToken", "")
    if not token:
        return ""
    try:
        data = signing.loads(token, salt=PAGE_SALT, max_age=3 * 86400)  # Google keeps them three days
    except signing.BadSignature:
        raise ApiError(google_error(400, "invalid", "Invalid Input: pageToken", location="pageToken")) from None
    if data.get("kind") != kind:
        raise ApiError(google_error(400, "invalid", "Invalid Input: pageToken", location="pageToken"))
    return data["after"]


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def user_json(person: Person) -> dict[str, Any]:
    given, _, family = person.name.partition(" ")
    shaped: dict[str, Any] = {
        "kind": "admin#directory#user",
        "id": person.external_id,
        "etag": f'"{person.directory_seq}"',
        "primaryEmail": person.email,
        "name": {"givenName": given, "familyName": family, "fullName": person.name},
        "isAdmin": person.is_admin,
        "isDelegatedAdmin": False,
        "lastLoginTime": "1970-01-01T00:00:00.000Z",
        "creationTime": _iso(person.created_at),
        "agreedToTerms": True,
        "suspended": person.suspended,
        "archived": False,
        "changePasswordAtNextLogin": False,
        "ipWhitelisted": False,
        "emails": [{"address": person.email, "primary": True}],
        "customerId": person.tenant.external_id,
        "orgUnitPath": person.org_unit_path,
        "isMailboxSetup": True,
        "isEnrolledIn2Sv": False,
        "isEnforcedIn2Sv": False,
        "includeInGlobalAddressList": True,
    }
    if person.department:
        shaped["organizations"] = [{"department": person.department, "primary": True, "customType": ""}]
    if person.manager is not None:  # no query without a manager_id
        shaped["relations"] = [{"value": person.manager.email, "type": "manager"}]
    if person.suspended:
        shaped["suspensionReason"] = "ADMIN"
    if person.deleted_at:
        shaped["deletionTime"] = _iso(person.deleted_at)
    return shaped


@endpoint(Provider.GOOGLE, "directory.users.list")
@require_GET
def users_list(request: HttpRequest) -> HttpResponse:
    token = _caller(request, "directory.users.list")
    tenant = _customer(token, request.GET.get("customer", ""), request.GET.get("domain", ""))
    size = _max_results(request, USERS_DEFAULT_PAGE, USERS_MAX_PAGE)
    deleted = request.GET.get("showDeleted", "false").lower() == "true"
    after = _page_after(request, "deleted" if deleted else "users")
    people = Person.objects.filter(tenant=tenant, kind=Person.Kind.USER).select_related("tenant", "manager")
    # showDeleted lists the deleted users (for 20 days), and only them.
    people = people.filter(deleted_at__isnull=not deleted)
    query = request.GET.get("query", "").strip()
    if query.replace(" ", "") in ("isSuspended=true", "isSuspended=false"):
        people = people.filter(suspended=query.replace(" ", "").endswith("true"))
    elif query:
        raise ApiError(google_error(400, "invalid", "Invalid Input", location="query"))
    domain = request.GET.get("domain", "").lower()
    if domain:
        people = people.filter(email__iendswith=f"@{domain}")
    if after:
        people = people.filter(email__gt=after)
    page = [person for person in people.order_by("email")[: size + 1] if not deleted_long_ago(person)]
    body: dict[str, Any] = {
        "kind": "admin#directory#users",
        "etag": '"sandbox"',
        "users": [user_json(person) for person in page[:size]],
    }
    if len(page) > size:
        body["nextPageToken"] = signing.dumps(
            {"kind": "deleted" if deleted else "users", "after": page[size - 1].email}, salt=PAGE_SALT
        )
    if not body["users"]:
        body.pop("users")  # Google leaves the key out of an empty page
    return JsonResponse(body)


@endpoint(Provider.GOOGLE, "directory.users.get")
@require_GET
def users_get(request: HttpRequest, user_key: str) -> HttpResponse:
    """One user of the caller's customer, by primary email or id (Google answers 404 for anyone else)."""
    token = _caller(request, "directory.users.get")
    person = (
        Person.objects.filter(tenant=token_person(token).tenant, kind=Person.Kind.USER, deleted_at__isnull=True)
        .filter(Q(email__iexact=user_key) | Q(external_id=user_key))
        .select_related("tenant", "manager")
        .first()
    )
    if person is None:
        raise ApiError(google_error(404, "notFound", "Resource Not Found: userKey"))
    return JsonResponse(user_json(person))


@endpoint(Provider.GOOGLE, "directory.domains.list")
@require_GET
def domains_list(request: HttpRequest, customer: str) -> HttpResponse:
    token = _caller(request, "directory.domains.list")
    tenant = _customer(token, customer)
    domains = [
        {
            "kind": "admin#directory#domain",
            "etag": '"sandbox"',
            "domainName": name,
            "isPrimary": index == 0,
            "verified": True,
            "creationTime": "1577836800000",
            "domainAliases": [],
        }
        for index, name in enumerate(tenant.domains)
    ]
    return JsonResponse({"kind": "admin#directory#domains", "etag": '"sandbox"', "domains": domains})


@endpoint(Provider.GOOGLE, "directory.resources.calendars.list")
@require_GET
def resources_list(request: HttpRequest, customer: str) -> HttpResponse:
    token = _caller(request, "directory.resources.calendars.list")
    tenant = _customer(token, customer)
    size = _max_results(request, 100, RESOURCES_MAX_PAGE)
    after = _page_after(request, "resources")
    rooms = Person.objects.filter(tenant=tenant, kind=Person.Kind.ROOM, deleted_at__isnull=True)
    if after:
        rooms = rooms.filter(external_id__gt=after)
    page = list(rooms.order_by("external_id")[: size + 1])
    items = [
        {
            "kind": "admin#directory#resources#calendars#CalendarResource",
            "etags": f'"{room.directory_seq}"',
            "resourceId": room.external_id,
            "resourceName": room.name,
            "generatedResourceName": f"{room.building}-{room.floor or '1'}-{room.name}",
            "resourceEmail": room.email,
            "resourceCategory": "CONFERENCE_ROOM",
            "capacity": room.capacity or 0,
            "buildingId": room.building,
            "floorName": room.floor,
            "floorSection": "",
            "resourceType": "",
            "resourceDescription": "",
            "userVisibleDescription": "",
            "featureInstances": [],
        }
        for room in page[:size]
    ]
    body: dict[str, Any] = {
        "kind": "admin#directory#resources#calendars#calendarResourcesList",
        "etag": '"sandbox"',
        "items": items,
    }
    if len(page) > size:
        body["nextPageToken"] = signing.dumps(
            {"kind": "resources", "after": page[size - 1].external_id}, salt=PAGE_SALT
        )
    return JsonResponse(body)
