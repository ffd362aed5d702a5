"""django-q2 tasks of the directory app: load by id, call a service, safe to run twice."""
