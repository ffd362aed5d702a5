import os

from django.core.wsgi import get_wsgi_application

from core.runtime import freeze_loaded_code, tune_garbage_collection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings")

tune_garbage_collection()
application = get_wsgi_application()
freeze_loaded_code()
