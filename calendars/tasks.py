"""django-q2 tasks of the calendars app: load by id, call a service, safe to run twice."""
