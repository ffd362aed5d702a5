"""django-q2 tasks of the accounts app: load by id, call a service, safe to run twice."""
