"""Who acted, for the audit trail: a signed-in person, an integrator application (for an account), a
provider (a push, a refusal) or the system itself (a sync, a provisioning)."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import ActorKind, Application, User


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str
    user: User | None = None
    application: Application | None = None
    label: str = ""

    @classmethod
    def person(cls, user: User) -> Actor:
        return cls(ActorKind.PERSON, user=user)

    @classmethod
    def of_application(cls, application: Application, *, on_behalf_of: User | None = None) -> Actor:
        return cls(ActorKind.APPLICATION, application=application, label=on_behalf_of.email if on_behalf_of else "")

    @classmethod
    def provider(cls, name: str) -> Actor:
        return cls(ActorKind.PROVIDER, label=name)

    @classmethod
    def system(cls, what: str = "") -> Actor:
        return cls(ActorKind.SYSTEM, label=what)


def as_actor(actor: User | Actor | None) -> Actor:
    """A person given where an actor is expected is that person acting; nobody is the system."""
    if isinstance(actor, Actor):
        return actor
    if actor is not None and actor.is_authenticated:
        return Actor.person(actor)
    return Actor.system()
