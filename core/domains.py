"""Email domains as calendar services and directories know them."""

from __future__ import annotations

import idna
from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator

_validate_ascii_domain = DomainNameValidator(accept_idna=False)


def normalize_domain(raw: str) -> str:
    """Lower-case, trailing-dot-free ASCII (punycode) form, or ValidationError with a readable message."""
    candidate = raw.strip().lower().rstrip(".")
    if candidate.startswith("@"):
        candidate = candidate[1:]
    if not candidate:
        raise ValidationError("A domain cannot be empty.", code="empty")
    try:
        ascii_domain = idna.encode(candidate, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise ValidationError(
            "“%(domain)s” is not a valid domain name.", code="invalid", params={"domain": raw.strip()}
        ) from None
    try:
        _validate_ascii_domain(ascii_domain)
    except ValidationError:
        raise ValidationError(
            "“%(domain)s” is not a valid domain name.", code="invalid", params={"domain": raw.strip()}
        ) from None
    return ascii_domain


def parse_domain_list(raw: str | list[str]) -> list[str]:
    """Domains from admin text (commas, spaces or new lines) or a list; normalised, de-duplicated, in order.

    Every invalid entry is reported at once, so an admin fixes the list in one go.
    """
    items = raw if isinstance(raw, list) else raw.replace(",", " ").split()
    domains: list[str] = []
    errors: list[ValidationError] = []
    for item in items:
        try:
            domain = normalize_domain(item)
        except ValidationError as error:
            errors.append(error)
            continue
        if domain not in domains:
            domains.append(domain)
    if errors:
        raise ValidationError(errors)
    return domains


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()
