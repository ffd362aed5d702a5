"""DRF views and serializers of the calendars app's `/v1` endpoints: thin, Input/Output serializers."""
