"""Framework-level helpers shared by every app: public ids, encryption at rest, domain names."""
