"""Celery tasks of the storage core (scheduled by django-celery-beat; see `bootstrap`)."""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from celery import shared_task
from django.conf import settings
from django.db import connections

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
    with ThreadPoolExecutor(1, initializer=_lowest_priority) as thread:
        return thread.submit(_complete_checksums, blob_id).result()


def _lowest_priority() -> None:
    """Hashing a layer costs about as much CPU as receiving it; on a machine that also serves
    requests it should only take what they leave idle (nice 19, this thread alone on Linux)."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _complete_checksums(blob_id: int | None) -> int:
    try:
        completed = blob_complete_checksums(blob_id=blob_id) if blob_id is not None else False
        return int(completed) + blobs_complete_checksums()
    finally:
        connections.close_all()  # this thread's own, which Celery does not know about
