"""django-q2 tasks of the conferencing app: load by id, call a service, safe to run twice."""
