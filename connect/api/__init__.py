"""DRF views and serializers of the accounts app's `/v1` endpoints: thin, Input/Output serializers."""
