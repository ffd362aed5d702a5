"""New RSA keys, one size for the whole platform: DKIM keys of sender domains, SuccessFactors signing
pairs, and the sandbox's service-account and token-signing keys."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings


def new_rsa_private_key() -> rsa.RSAPrivateKey:
    """A new key of RSA_KEY_BITS (2048; the test settings use 1024, the least DKIM verifiers accept,
    because a test suite that makes hundreds of keys spent a tenth of its time finding primes)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=settings.RSA_KEY_BITS)
