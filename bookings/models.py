"""Managed events, their attendees and the invitation outbox (the booking domain has no tables yet)."""
