"""Signals about a person's place in an organization, for the layers above to act on.

They are defined here, at the bottom, so that every layer can listen without importing the layer
that sends them: the directory sends `person_offboarded`; bookings hands over or cancels the person's
future bookings, and the OAuth server revokes every application's access.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent once a person has been offboarded from an organization (memberships ended, profiles
# disconnected), inside no transaction. Keyword arguments:
#   user: the User; organization: the Organization they left; reason: plain words ("suspended in the
#   directory"); bookings_policy: "cancel", "hand_over" or "keep"; handover_to: a User or None;
#   source: who decided (the directory service, as text).
person_offboarded = Signal()
