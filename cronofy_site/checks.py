"""System checks that `manage.py check --deploy` runs on top of Django's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from cronofy_site.lib.encryption import multi_fernet


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
