"""Celery tasks of the registry (scheduled by django-celery-beat; see `bootstrap`)."""

from celery import shared_task
from django.conf import settings

from apps.packages.services import blobs_collect_garbage

from .services import layers_collect_garbage, uploads_collect_garbage


@shared_task(name="docker.collect_garbage")
def collect_garbage(grace_seconds: int | None = None) -> dict:
    """Drop stale upload sessions, unlink layers no manifest uses, then remove the blobs
    nothing references any more; everything younger than the grace period is spared, so a
    push in progress is never raced."""
    grace = settings.GC_GRACE_SECONDS if grace_seconds is None else grace_seconds
    return {
        "uploads": uploads_collect_garbage(grace_seconds=grace),
        "layers": layers_collect_garbage(grace_seconds=grace),
        "blobs": blobs_collect_garbage(grace_seconds=grace),
    }
