from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    """Directory services and onboarding/offboarding."""

    name = "directory"
    verbose_name = "Directories"
