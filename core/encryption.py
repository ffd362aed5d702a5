"""Encryption at rest for credentials (provider tokens, keys, client secrets).

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256) under a MultiFernet built from
settings.FIELD_ENCRYPTION_KEYS: the first key encrypts, every key decrypts, so keys rotate without
downtime. The database never sees plaintext and `dumpdata` exports ciphertext.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver


class DecryptionError(Exception):
    """A stored value cannot be decrypted with any configured key (a key was dropped too early)."""


@functools.cache
def multi_fernet() -> MultiFernet:
    keys = settings.FIELD_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes; `manage.py generate_encryption_key` makes one)."
        ) from error


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        multi_fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return multi_fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return multi_fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # Never include the token: even ciphertext does not belong in logs.
        raise DecryptionError("Stored credentials cannot be decrypted with the configured keys.") from None


def reencrypt(token: str) -> str:
    """The same plaintext under the current primary key."""
    try:
        return multi_fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("Stored credentials cannot be decrypted with the configured keys.") from None


def generate_key() -> str:
    return Fernet.generate_key().decode()


class EncryptedJSONField(models.TextField):
    """A JSON object stored as a Fernet token.

    Only `isnull` can be queried: ciphertext is randomised, so equality lookups could never match
    and would only suggest otherwise.
    """

    description = "JSON encrypted at rest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return json.loads(decrypt(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt(json.dumps(value, sort_keys=True, separators=(",", ":")))

    def value_to_string(self, obj: models.Model) -> str | None:  # type: ignore[override]  # None stays None, as JSONField
        return self.get_prep_value(self.value_from_object(obj))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def get_transform(self, name: str) -> Any:
        return None
