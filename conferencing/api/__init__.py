"""DRF views and serializers of the conferencing app's `/v1` endpoints: thin, Input/Output serializers."""
