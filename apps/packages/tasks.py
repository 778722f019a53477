"""Celery tasks of the storage core (scheduled by django-celery-beat; see `bootstrap`)."""

from celery import shared_task
from django.conf import settings

from .services import blob_complete_checksums, blobs_collect_garbage, blobs_complete_checksums
from .storage import spools_sweep

# No request spools to a temp file for this long: an older spool's process has died.
ABANDONED_SPOOL_SECONDS = 24 * 3600


@shared_task(name="packages.collect_garbage")
def collect_garbage(grace_seconds: int | None = None) -> int:
    """Remove unreferenced blobs past the grace period, and spools abandoned by dead processes."""
    grace = settings.GC_GRACE_SECONDS if grace_seconds is None else grace_seconds
    spools_sweep(older_than_seconds=ABANDONED_SPOOL_SECONDS)
    return blobs_collect_garbage(grace_seconds=grace)


@shared_task(name="packages.complete_checksums")
def complete_checksums(blob_id: int | None = None) -> int:
    """md5 and sha1 of a blob stored without them (queued when it is stored), then of any
    blob whose own task was lost long ago. Returns how many blobs were completed."""
    completed = blob_complete_checksums(blob_id=blob_id) if blob_id is not None else False
    return int(completed) + blobs_complete_checksums()
