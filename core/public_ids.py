"""Public identifiers in Cronofy's style (`acc_...`, `pro_...`, `cal_...`).

Database integers never leave the system: they leak volume and ordering, and they are guessable.
Every object an integrator or an admin URL can name carries one of these instead.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.db import models

# Lower-case base32 without look-alike ambiguity: easy to read aloud, safe in URLs and filenames.
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
RANDOM_LENGTH = 24  # 120 bits of randomness


def new_public_id(prefix: str) -> str:
    return f"{prefix}_{''.join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))}"


class PublicIdField(models.CharField):
    """A unique, random, prefixed id, generated when the Python object is created.

    The default is generated per instance (not per migration), so never add this field to a table
    that already has rows without a data migration that fills each row.
    """

    description = "Public identifier with a type prefix"

    def __init__(self, *args: Any, prefix: str, **kwargs: Any) -> None:
        if not prefix.isalpha() or not prefix.islower():
            raise ValueError(f"A public id prefix is lower-case letters, got {prefix!r}")
        self.prefix = prefix
        kwargs.setdefault("max_length", len(prefix) + 1 + RANDOM_LENGTH)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        if kwargs.get("max_length") == len(self.prefix) + 1 + RANDOM_LENGTH:
            del kwargs["max_length"]
        if kwargs.get("unique") is True:
            del kwargs["unique"]
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        return name, path, args, kwargs

    def has_default(self) -> bool:
        return True

    def get_default(self) -> str:
        return new_public_id(self.prefix)
