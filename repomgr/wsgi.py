import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "repomgr.settings")

application = get_wsgi_application()
# Import every view now, so a worker's first request does not pay for loading the URL map.
get_resolver().url_patterns
