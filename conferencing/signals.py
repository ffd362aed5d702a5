"""People who join an organization (added by an admin, or onboarded from a directory) are linked to its
conferencing services as soon as the membership exists."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_q.tasks import async_task

from accounts.models import ConnectionStatus, Membership
from conferencing.models import ConferencingService


@receiver(post_save, sender=Membership, dispatch_uid="conferencing.membership_link")
def membership_saved(sender: type[Membership], instance: Membership, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    if ConferencingService.objects.filter(status=ConnectionStatus.ACTIVE).exists():
        transaction.on_commit(lambda: async_task("conferencing.tasks.person_link", instance.user_id))
