from django.apps import AppConfig


class ConferencingConfig(AppConfig):
    """Conferencing services and meeting creation."""

    name = "conferencing"
    verbose_name = "Conferencing"
