from typing import Any

from django.core.management.base import BaseCommand

from core.key_rotation import reencrypt_all_credentials


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored credential with the first key of FIELD_ENCRYPTION_KEYS. Run after "
        "prepending a new key; afterwards the old keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = reencrypt_all_credentials()
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {sum(counts.values())} values under the newest key."))
