"""Request fields and response formats the `/v1` endpoints share, as Cronofy spells them: time zone
ids, dates or times, UTC times with a `Z`, paging through signed page URLs."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

PAGE_SIZE = 50
PAGE_SALT = "cronofy_site.api.pages"
PAGE_MAX_AGE = timedelta(hours=1)


# Dates this API works with. Far enough either way for any calendar, and far enough from the limits
# of Python's datetime that no time zone conversion or window arithmetic can overflow.
SUPPORTED_FROM = date(1900, 1, 1)
SUPPORTED_UNTIL = date(2200, 12, 31)
OUT_OF_RANGE = f"must be between {SUPPORTED_FROM.isoformat()} and {SUPPORTED_UNTIL.isoformat()}."

# Characters that would break a mail header line (CR, LF and the other C0/C1 controls, Unicode line
# and paragraph separators). Fields that end up in headers (subjects, names) refuse them outright.
_HEADER_BREAKING = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def in_supported_range(value: date | datetime) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return SUPPORTED_FROM <= day <= SUPPORTED_UNTIL


class HeaderSafeCharField(serializers.CharField):
    """Text that ends up in a mail header (a summary in the Subject, a name in To or CN): one line,
    no control characters."""

    default_error_messages = {"control": "must be one line, without control characters (no CR or LF)."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if _HEADER_BREAKING.search(value):
            self.fail("control")
        return value


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC", "Etc/UTC"}


def known_zone(tzid: str) -> bool:
    return tzid in _known_zones()


class TimeZoneField(serializers.CharField):
    """An IANA time zone id (`Europe/London`, `Etc/UTC`)."""

    default_error_messages = {"unknown": "“{value}” is not a time zone id (for example Europe/London or Etc/UTC)."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in _known_zones():
            self.fail("unknown", value=value)
        return value


@extend_schema_field(OpenApiTypes.STR)
class DateOrTimeField(serializers.Field):
    """A date (`2026-11-23`) or an ISO 8601 time with an offset (`2026-11-23T09:00:00Z`)."""

    default_error_messages = {
        "invalid": "must be a date (YYYY-MM-DD) or a time with a time zone (ISO 8601).",
        "range": OUT_OF_RANGE,
    }

    def to_internal_value(self, data: Any) -> date | datetime:
        text = str(data).strip()
        try:
            parsed_date = parse_date(text)
            if parsed_date is not None:
                if not in_supported_range(parsed_date):
                    self.fail("range")
                return parsed_date
            parsed = parse_datetime(text.replace("UTC", "Z"))
        except (ValueError, OverflowError):
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.fail("invalid")
        try:
            in_range = in_supported_range(parsed.astimezone(UTC))
        except OverflowError:
            in_range = False
        if not in_range:
            self.fail("range")
        return parsed

    def to_representation(self, value: date | datetime) -> str:
        return value.isoformat()


@extend_schema_field(OpenApiTypes.DATETIME)
class TimeField(DateOrTimeField):
    """An ISO 8601 time with an offset; dates are refused."""

    default_error_messages = {
        "invalid": "must be a time with a time zone (ISO 8601), for example 2026-11-23T09:00:00Z."
    }

    def to_internal_value(self, data: Any) -> datetime:
        value = super().to_internal_value(data)
        if not isinstance(value, datetime):
            self.fail("invalid")
        return value


class TimeSpan(serializers.Serializer):
    """`start` and `end` times, the end after the start."""

    start = TimeField()
    end = TimeField()

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["end"] <= data["start"]:
            raise serializers.ValidationError({"end": "must be after start."})
        return data


def as_instant(value: date | datetime, zone: tzinfo) -> datetime:
    """A date means its midnight in the request's time zone."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=zone)


def query_data(params: QueryDict, *, lists: Sequence[str] = ()) -> dict[str, Any]:
    """A query string as serializer input: `calendar_ids[]=a&calendar_ids[]=b` becomes a list."""
    data: dict[str, Any] = {key: value for key, value in params.items() if not key.endswith("[]")}
    for name in lists:
        values = params.getlist(f"{name}[]") or params.getlist(name)
        if values:
            data[name] = values
    return data


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_EPOCH_DAY = date(1970, 1, 1)


@functools.lru_cache(maxsize=1024)
def _day_text(days_since_epoch: int) -> str:
    return (_EPOCH_DAY + timedelta(days=days_since_epoch)).isoformat()


@functools.lru_cache(maxsize=4096)
def _clock_text(second_of_day: int) -> str:
    return f"T{second_of_day // 3600:02d}:{second_of_day // 60 % 60:02d}:{second_of_day % 60:02d}Z"


def epoch_text(moment: int) -> str:
    """`utc_text` of epoch seconds without making a datetime: an availability answer formats hundreds
    of moments, and strftime was a tenth of its time. Answers fall on a few hundred times of day (on
    the quarter hour, plus buffers), so both halves are cached."""
    days, second = divmod(moment, 86400)
    return _day_text(days) + _clock_text(second)


def time_text(
    moment: datetime, *, zone: zoneinfo.ZoneInfo, localized: bool, all_day_zone: tzinfo | None = None
) -> str | dict[str, str]:
    """Cronofy's times: an all-day event as its date (in its calendar's zone), others in UTC, or with
    `localized_times` as `{"time": <local time with offset>, "tzid": ...}`."""
    if all_day_zone is not None:
        return moment.astimezone(all_day_zone).date().isoformat()
    if localized:
        return {"time": moment.astimezone(zone).isoformat(timespec="seconds"), "tzid": zone.key}
    return utc_text(moment)


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    total: int
    next_token: str | None

    def as_cronofy(self, url_name: str) -> dict[str, Any]:
        shaped: dict[str, Any] = {"current": self.number, "total": self.total}
        if self.next_token:
            shaped["next_page"] = settings.SITE_URL + reverse(url_name, args=[self.next_token])
        return shaped


def _frozen(params: dict[str, Any]) -> dict[str, Any]:
    return {key: f"dt:{value.isoformat()}" if isinstance(value, datetime) else value for key, value in params.items()}


def _thawed(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: datetime.fromisoformat(value[3:]) if isinstance(value, str) and value.startswith("dt:") else value
        for key, value in params.items()
    }


def page_of(count: int, number: int, *, kind: str, grant_id: int, params: dict[str, Any]) -> tuple[Page, slice]:
    """Which rows page `number` holds, and the token of the next page: it carries the query, signed,
    for the same grant only."""
    total = max(1, -(-count // PAGE_SIZE))
    number = min(max(number, 1), total)
    token = None
    if number < total:
        state = {"kind": kind, "grant": grant_id, "params": _frozen(params), "page": number + 1}
        token = signing.dumps(state, salt=PAGE_SALT, compress=True)
    return Page(number=number, total=total, next_token=token), slice((number - 1) * PAGE_SIZE, number * PAGE_SIZE)


def page_request(token: str, *, kind: str, grant_id: int) -> tuple[dict[str, Any], int]:
    """The query and page number a page URL carries; 404 when it is forged, older than an hour, for
    another endpoint or for another grant."""
    try:
        state = signing.loads(token, salt=PAGE_SALT, max_age=PAGE_MAX_AGE)
    except signing.BadSignature:
        raise Http404 from None
    if state.get("kind") != kind or state.get("grant") != grant_id:
        raise Http404
    return _thawed(state["params"]), int(state["page"])


class WindowQuery(serializers.Serializer):
    """`tzid`, and `from` and `to` as dates (midnight in `tzid`) or times, made `start` and `end`."""

    default_past = timedelta(days=42)
    default_future = timedelta(days=201)

    tzid = TimeZoneField()
    to = DateOrTimeField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = DateOrTimeField(required=False)  # a Python keyword, so not a class attribute
        return fields

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        zone = zoneinfo.ZoneInfo(data["tzid"])
        today = timezone.now().astimezone(zone).date()
        data["start"] = as_instant(data.pop("from", today - self.default_past), zone)
        data["end"] = as_instant(data.pop("to", today + self.default_future), zone)
        if data["end"] <= data["start"]:
            raise serializers.ValidationError({"to": "must be after from."})
        return data
