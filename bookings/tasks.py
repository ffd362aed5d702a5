"""django-q2 tasks of the bookings app: load by id, call a service, safe to run twice."""
