from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Helpers every app shares and that import no app: public ids, encryption at rest, domain names,
    the outbox mechanism, provider URLs, the `/v1` error shapes and request fields."""

    name = "core"
    verbose_name = "Core"
