from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Local, faithful stand-ins for Google's and Microsoft's OAuth and calendar APIs."""

    name = "sandbox"
    verbose_name = "Provider sandbox"
