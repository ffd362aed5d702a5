"""System checks that `manage.py check --deploy` runs on top of Django's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from core.encryption import multi_fernet


@register(Tags.security, deploy=True)
def check_encryption_keys(app_configs: Any, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    try:
        multi_fernet()
    except Exception as error:  # noqa: BLE001  # any failure here is a configuration error to report
        problems.append(Error(str(error), id="cronofy_site.E001"))
    if settings.SECRET_KEY.startswith("insecure-"):
        problems.append(Error("SECRET_KEY is the development key.", id="cronofy_site.E002"))
    return problems


@register(Tags.security, deploy=True)
def check_invitations(app_configs: Any, **kwargs: Any) -> list[Error | Warning]:
    """Invitations must come from a real domain, signed, or receivers' DMARC checks turn them away."""
    problems: list[Error | Warning] = []
    domain = settings.INVITATIONS_FROM_EMAIL.rsplit("@", 1)[-1]
    if "." not in domain or domain.endswith(".localhost"):
        problems.append(
            Warning(
                f"INVITATIONS_FROM_EMAIL ({settings.INVITATIONS_FROM_EMAIL}) is not on a real domain.",
                hint="Set it to an address on a domain you control.",
                id="cronofy_site.W010",
            )
        )
    if not settings.INVITATIONS_DKIM_PRIVATE_KEY:
        problems.append(
            Warning(
                "Invitations go out without a DKIM signature.",
                hint="Run `manage.py generate_dkim_key`, set INVITATIONS_DKIM_PRIVATE_KEY and publish the record.",
                id="cronofy_site.W011",
            )
        )
    if "." not in settings.INVITATIONS_REPLY_DOMAIN or settings.INVITATIONS_REPLY_DOMAIN.endswith(".localhost"):
        problems.append(
            Warning(
                f"INVITATIONS_REPLY_DOMAIN ({settings.INVITATIONS_REPLY_DOMAIN}) cannot receive mail.",
                hint="Use a domain whose MX points to `manage.py receive_replies` (or to your email provider).",
                id="cronofy_site.W012",
            )
        )
    return problems
