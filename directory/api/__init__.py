"""DRF views and serializers of the directory app's `/v1` endpoints: thin, Input/Output serializers."""
