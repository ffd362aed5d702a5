from core.rsa_keys import new_rsa_private_key


def test_new_keys_have_the_configured_size(settings):
    settings.RSA_KEY_BITS = 2048
    assert new_rsa_private_key().key_size == 2048
