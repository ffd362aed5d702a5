"""Re-encrypting every credential under the newest key, so that old keys can be retired."""

from __future__ import annotations

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from core.encryption import EncryptedJSONField, reencrypt

BATCH_SIZE = 500


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedJSONField)
    ]


def reencrypt_all_credentials() -> dict[str, int]:
    """Rewrite every encrypted value under the primary key; returns the number of values per field.

    Rows are locked batch by batch, so a credential refreshed meanwhile is never overwritten with its
    older value. The ciphertext is read and written as text: the plaintext never leaves this loop.
    """
    counts: dict[str, int] = {}
    for model, field in encrypted_fields():
        label = f"{model._meta.label}.{field.name}"
        counts[label] = 0
        last_pk = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model._base_manager.select_for_update()
                    .filter(pk__gt=last_pk, **{f"{field.name}__isnull": False})
                    .order_by("pk")
                    .annotate(ciphertext=Cast(field.name, models.TextField()))
                    .values_list("pk", "ciphertext")[:BATCH_SIZE]
                )
                for pk, ciphertext in rows:
                    model._base_manager.filter(pk=pk).update(
                        **{field.name: models.Value(reencrypt(ciphertext), output_field=models.TextField())}
                    )
            if not rows:
                break
            counts[label] += len(rows)
            last_pk = rows[-1][0]
    return counts
