from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    """The Django admin, as the organization-scoped IT-admin console."""

    default_site = "cronofy_site.admin_site.ConsoleAdminSite"


class CronofySiteConfig(AppConfig):
    """Project-wide pieces: management commands, system checks, shared templates and static files."""

    name = "cronofy_site"
    verbose_name = "Site"

    def ready(self) -> None:
        from cronofy_site import checks, schema  # noqa: F401  # registers the checks and schema extensions
