"""Celery tasks of the audit log (scheduled by django-celery-beat; see `bootstrap`)."""

from celery import shared_task
from django.conf import settings

from .services import audit_prune


@shared_task(name="audit.prune")
def prune() -> int:
    return audit_prune(older_than_days=settings.AUDIT_RETENTION_DAYS)
