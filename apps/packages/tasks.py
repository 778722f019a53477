"""Celery tasks of the storage core (scheduled by django-celery-beat; see `bootstrap`)."""

from celery import shared_task
from django.conf import settings

from .services import blobs_collect_garbage


@shared_task(name="packages.collect_garbage")
def collect_garbage(grace_seconds: int | None = None) -> int:
    grace = settings.GC_GRACE_SECONDS if grace_seconds is None else grace_seconds
    return blobs_collect_garbage(grace_seconds=grace)
