"""Microsoft Graph v1.0, the directory: `users` (with `$select`, `$top`, `@odata.nextLink`),
`users/delta` (pages by `@odata.nextLink`, then an `@odata.deltaLink`; later rounds get what changed,
deletions as `@removed`), `organization` (verified domains) and `places/microsoft.graph.room`.

Application permissions only reach the token's own tenant. Rooms are places, not users."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.models import Person, Tenant, Token
from sandbox.scopes import graph_allows
from sandbox.services import current_change_seq
from sandbox.views.common import ApiError, graph_error

DELTA_SALT = "sandbox.graph.users.delta"
USERS_DEFAULT_PAGE, USERS_MAX_PAGE = 100, 999
DELTA_PAGE = 200
PLACES_DEFAULT_PAGE = 100
# Directory delta tokens live seven days; then Graph answers syncStateNotFound.
DELTA_TOKEN_SECONDS = 7 * 86400
USER_FIELDS = (
    "id",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
    "accountEnabled",
    "department",
    "jobTitle",
)
DEFAULT_USER_FIELDS = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)


def _require(token: Token, operation: str) -> Tenant:
    if not graph_allows(operation, token.scopes):
        raise ApiError(
            graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        )
    tenant = token.person.tenant if token.person else token.tenant
    if tenant is None:
        raise ApiError(graph_error(401, "InvalidAuthenticationToken", "Access token validation failure."))
    return tenant


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri(request.path.split("/v1.0/")[0] + "/v1.0/")


def _select(request: HttpRequest) -> tuple[str, ...]:
    raw = request.GET.get("$select", "")
    if not raw:
        return DEFAULT_USER_FIELDS
    fields = tuple(field.strip() for field in raw.split(",") if field.strip())
    unknown = [field for field in fields if field not in USER_FIELDS]
    if unknown:
        raise ApiError(
            graph_error(
                400,
                "Request_BadRequest",
                f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.user'.",
            )
        )
    return fields


def user_json(person: Person, fields: tuple[str, ...]) -> dict[str, Any]:
    given, _, family = person.name.partition(" ")
    everything: dict[str, Any] = {
        "id": person.external_id,
        "displayName": person.name,
        "givenName": given or None,
        "surname": family or None,
        "mail": person.email,
        "userPrincipalName": person.email,
        "accountEnabled": not person.suspended,
        "department": person.department or None,
        "jobTitle": None,
        "businessPhones": [],
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
    }
    return {field: everything[field] for field in ("id", *fields) if field in everything}


def _people(tenant: Tenant) -> Any:
    return Person.objects.filter(tenant=tenant, kind=Person.Kind.USER)


def users_list(request: HttpRequest, token: Token) -> HttpResponse:
    tenant = _require(token, "graph.users.list")
    fields = _select(request)
    try:
        size = int(request.GET.get("$top", USERS_DEFAULT_PAGE))
    except ValueError:
        size = 0
    if not 1 <= size <= USERS_MAX_PAGE:
        raise ApiError(graph_error(400, "Request_UnsupportedQuery", "Invalid page size specified: '{size}'."))
    after = ""
    if request.GET.get("$skiptoken"):
        try:
            after = signing.loads(request.GET["$skiptoken"], salt=DELTA_SALT)["after"]
        except (signing.BadSignature, KeyError):
            raise ApiError(graph_error(400, "Request_BadRequest", "Invalid skip token.")) from None
    people = _people(tenant).filter(deleted_at__isnull=True).order_by("external_id")
    if after:
        people = people.filter(external_id__gt=after)
    page = list(people[: size + 1])
    body: dict[str, Any] = {
        "@odata.context": f"{_base(request)}$metadata#users",
        "value": [user_json(person, fields) for person in page[:size]],
    }
    if len(page) > size:
        query = {k: v for k, v in request.GET.items() if k != "$skiptoken"}
        query["$skiptoken"] = signing.dumps({"after": page[size - 1].external_id}, salt=DELTA_SALT)
        body["@odata.nextLink"] = f"{_base(request)}users?{urlencode(query)}"
    return JsonResponse(body)


def _delta_state(request: HttpRequest) -> dict[str, Any]:
    """Where this call continues: a new round ({since: 0}), a page of one ({skip}), or a delta link."""
    if request.GET.get("$skiptoken"):
        try:
            return signing.loads(request.GET["$skiptoken"], salt=DELTA_SALT)
        except signing.BadSignature:
            raise ApiError(graph_error(400, "Request_BadRequest", "Invalid skip token.")) from None
    if request.GET.get("$deltatoken"):
        if request.GET["$deltatoken"] == "latest":
            return {"latest": True}
        try:
            state = signing.loads(request.GET["$deltatoken"], salt=DELTA_SALT)
        except signing.BadSignature:
            state = None
        if state is None or time.time() - state.get("issued", 0) > DELTA_TOKEN_SECONDS:
            raise ApiError(
                graph_error(
                    400,
                    "syncStateNotFound",
                    "The sync state generation is not found. The delta token is expired or invalid.",
                )
            )
        return {"since": state["upto"], "fields": state.get("fields")}
    return {"since": 0}


def _delta_page_size(request: HttpRequest) -> int:
    match = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("Prefer", ""))
    return max(1, min(int(match.group(1)), USERS_MAX_PAGE)) if match else DELTA_PAGE


def users_delta(request: HttpRequest, token: Token) -> HttpResponse:
    """The first round lists every current user; each later round what changed after the delta link's
    change number. A page holds DELTA_PAGE users; ordering by change number keeps a round consistent."""
    tenant = _require(token, "graph.users.delta")
    base = _base(request)
    state = _delta_state(request)
    if state.get("latest"):
        upto = current_change_seq()
        link = signing.dumps({"upto": upto, "issued": int(time.time())}, salt=DELTA_SALT)
        return JsonResponse(
            {
                "@odata.context": f"{base}$metadata#users",
                "@odata.deltaLink": f"{base}users/delta?$deltatoken={link}",
                "value": [],
            }
        )
    fields = tuple(state.get("fields") or _select(request))
    since = state["since"]
    upto = state.get("upto") or current_change_seq()
    after = state.get("after")
    people = _people(tenant).filter(directory_seq__lte=upto).order_by("directory_seq", "pk")
    if since:
        people = people.filter(directory_seq__gt=since)
    if after:
        people = people.filter(Q(directory_seq__gt=after[0]) | Q(directory_seq=after[0], pk__gt=after[1]))
    if since == 0:
        people = people.filter(deleted_at__isnull=True)  # a first round knows nothing to remove
    size = _delta_page_size(request)
    page = list(people[: size + 1])
    value = []
    for person in page[:size]:
        if person.deleted_at is not None:
            value.append({"id": person.external_id, "@removed": {"reason": "changed"}})
        else:
            value.append(user_json(person, fields))
    body: dict[str, Any] = {"@odata.context": f"{base}$metadata#users", "value": value}
    if len(page) > size:
        skip = signing.dumps(
            {
                "since": since,
                "upto": upto,
                "after": [page[size - 1].directory_seq, page[size - 1].pk],
                "fields": list(fields),
            },
            salt=DELTA_SALT,
        )
        body["@odata.nextLink"] = f"{base}users/delta?$skiptoken={skip}"
    else:
        link = signing.dumps({"upto": upto, "issued": int(time.time()), "fields": list(fields)}, salt=DELTA_SALT)
        body["@odata.deltaLink"] = f"{base}users/delta?$deltatoken={link}"
    return JsonResponse(body)


def organization(request: HttpRequest, token: Token) -> HttpResponse:
    tenant = _require(token, "graph.organization")
    domains = [
        {
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": index == 0,
            "isInitial": False,
            "name": name,
            "type": "Managed",
        }
        for index, name in enumerate(tenant.domains)
    ]
    initial = tenant.name.lower().replace(" ", "") + ".onmicrosoft.com"
    domains.append(
        {
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": False,
            "isInitial": True,
            "name": initial,
            "type": "Managed",
        }
    )
    return JsonResponse(
        {
            "@odata.context": f"{_base(request)}$metadata#organization",
            "value": [
                {
                    "id": tenant.external_id,
                    "displayName": tenant.name,
                    "tenantType": "AAD",
                    "verifiedDomains": domains,
                }
            ],
        }
    )


def rooms(request: HttpRequest, token: Token) -> HttpResponse:
    tenant = _require(token, "graph.places")
    try:
        size = int(request.GET.get("$top", PLACES_DEFAULT_PAGE))
        skip = int(request.GET.get("$skip", 0))
    except ValueError:
        raise ApiError(graph_error(400, "BadRequest", "Invalid $top or $skip.")) from None
    found = list(
        Person.objects.filter(tenant=tenant, kind=Person.Kind.ROOM, deleted_at__isnull=True).order_by("email")[
            skip : skip + size + 1
        ]
    )
    base = _base(request)
    body: dict[str, Any] = {
        "@odata.context": f"{base}$metadata#places/microsoft.graph.room",
        "value": [
            {
                "id": room.external_id,
                "emailAddress": room.email,
                "displayName": room.name,
                "address": None,
                "geoCoordinates": None,
                "phone": None,
                "nickname": room.name,
                "label": room.floor or None,
                "capacity": room.capacity,
                "building": room.building or None,
                "floorLabel": room.floor or None,
                "floorNumber": int(room.floor) if room.floor.isdigit() else None,
                "isWheelChairAccessible": False,
                "bookingType": "standard",
                "tags": [],
                "audioDeviceName": None,
                "videoDeviceName": None,
                "displayDeviceName": None,
            }
            for room in found[:size]
        ],
    }
    if len(found) > size:
        body["@odata.nextLink"] = f"{base}places/microsoft.graph.room?{urlencode({'$top': size, '$skip': skip + size})}"
    return JsonResponse(body)
