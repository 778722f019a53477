import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "repomgr.settings")

app = Celery("repomgr")
app.config_from_object("django.conf:settings", namespace="CELERY")

