from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People, Organizational Units and roles, the audit trail, the organization-connection base, the
    console's scoping, and integrator applications with their grants and tokens."""

    name = "accounts"
    verbose_name = "Organizations and people"
