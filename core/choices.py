"""The product's vocabulary that every layer speaks: the three calendar access modes.

What each mode *means* (scopes, storage, delivery, conferencing, rooms, identity) is the access-mode
policy in calendars/access_modes.py; this is only the name of each.
"""

from django.db import models


class AccessMode(models.TextChoices):
    READ_WRITE = "read_write", "Read-Write"
    FREE_BUSY = "free_busy", "Free/Busy"
    NO_ACCESS = "no_access", "No Access"
