"""DRF views and serializers of the bookings app's `/v1` endpoints: thin, Input/Output serializers."""
