"""A service account's key is loaded once per process; each client gets its own scopes and subject."""

from __future__ import annotations

from calendars.providers import endpoints
from calendars.providers.google import _loaded_service_account, service_account_credentials
from sandbox.tokens import rsa_key_pair

KEY = {
    "type": "service_account",
    "private_key_id": "k1",
    "private_key": rsa_key_pair()[0],
    "client_email": "scheduling@sandbox-scheduling.iam.gserviceaccount.com",
    "client_id": "100000000000000000001",
    "token_uri": "https://oauth2.googleapis.com/token",
}


def test_clients_share_one_loaded_key_but_not_their_scopes_or_subject():
    _loaded_service_account.cache_clear()
    alice = service_account_credentials(KEY, scopes=["https://www.googleapis.com/auth/calendar"], subject="a@x.example")
    bob = service_account_credentials(KEY, scopes=None, subject="b@x.example")
    assert _loaded_service_account.cache_info().misses == 1 and _loaded_service_account.cache_info().hits == 1
    assert (alice._subject, alice.scopes) == ("a@x.example", ["https://www.googleapis.com/auth/calendar"])
    assert (bob._subject, bob.scopes) == ("b@x.example", None)
    assert alice.signer is bob.signer


def test_the_token_endpoint_is_the_configured_one(settings):
    settings.SANDBOX_ENABLED, settings.SANDBOX_URL = True, "http://127.0.0.1:9/sandbox"
    credentials = service_account_credentials(KEY, scopes=None, subject="a@x.example")
    assert credentials._token_uri == endpoints.google_token_url() != KEY["token_uri"]
