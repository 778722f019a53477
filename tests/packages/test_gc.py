"""Garbage collection rules (the service itself; tests/storage/test_gc_worker.py runs it in a
real Celery worker): what goes, what stays, and deploys racing a collection."""

import hashlib
import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.packages import services
from apps.packages.models import Blob
from apps.packages.storage import blob_key, blob_store

pytestmark = pytest.mark.django_db(transaction=True)


def orphan(server, admin_http, path: str, *, hours_ago: float) -> tuple[bytes, str]:
    data = os.urandom(10_000)
    assert admin_http.put(f"{server.url}/generic-local/{path}", data=data).status_code == 201
    assert admin_http.delete(f"{server.url}/generic-local/{path}").status_code == 204
    sha256 = hashlib.sha256(data).hexdigest()
    Blob.objects.filter(sha256=sha256).update(touched=timezone.now() - timedelta(hours=hours_ago))
    return data, sha256


def test_only_unreferenced_blobs_past_the_grace_period_go(server, admin_http, settings):
    _, old = orphan(server, admin_http, "old.bin", hours_ago=2)
    _, young = orphan(server, admin_http, "young.bin", hours_ago=0)
    assert admin_http.put(f"{server.url}/generic-local/used.bin", data=b"used").status_code == 201
    Blob.objects.update(touched=timezone.now() - timedelta(hours=2))
    Blob.objects.filter(sha256=young).update(touched=timezone.now())

    assert services.blobs_collect_garbage(grace_seconds=3600) == 1
    assert not Blob.objects.filter(sha256=old).exists()
    assert not (settings.DATA_DIR / "storage" / blob_key(old)).exists()
    assert Blob.objects.count() == 2 and blob_store().exists(young)
    assert services.blobs_collect_garbage(grace_seconds=3600) == 0


def test_a_checksum_deploy_saves_its_blob_from_collection(server, admin_http, http):
    data, sha256 = orphan(server, admin_http, "gone.bin", hours_ago=2)
    revived = admin_http.put(f"{server.url}/generic-local/revived.bin",
                             headers={"X-Checksum-Deploy": "true", "X-Checksum-Sha256": sha256})
    assert revived.status_code == 201
    # Touched like a fresh upload, so a collection running between lookup and deploy spares it.
    assert Blob.objects.get(sha256=sha256).touched > timezone.now() - timedelta(minutes=5)
    Blob.objects.filter(sha256=sha256).update(touched=timezone.now() - timedelta(hours=2))
    assert services.blobs_collect_garbage(grace_seconds=3600) == 0  # referenced again
    assert http.get(f"{server.url}/generic-local/revived.bin").content == data


def test_a_deploy_after_collection_stores_the_bytes_afresh(server, admin_http, http):
    data, sha256 = orphan(server, admin_http, "again.bin", hours_ago=2)
    assert services.blobs_collect_garbage(grace_seconds=3600) == 1
    missing = admin_http.put(f"{server.url}/generic-local/again.bin",
                             headers={"X-Checksum-Deploy": "true", "X-Checksum-Sha256": sha256})
    assert missing.status_code == 404
    assert admin_http.put(f"{server.url}/generic-local/again.bin", data=data).status_code == 201
    assert http.get(f"{server.url}/generic-local/again.bin").content == data


def test_other_tables_can_keep_blobs(server, admin_http):
    _, kept = orphan(server, admin_http, "layer.bin", hours_ago=2)
    hook = lambda: Blob.objects.filter(sha256=kept)  # noqa: E731 - as a format app registers one
    services.BLOB_REFERENCES.append(hook)
    try:
        assert services.blobs_collect_garbage(grace_seconds=3600) == 0
    finally:
        services.BLOB_REFERENCES.remove(hook)
    assert services.blobs_collect_garbage(grace_seconds=3600) == 1


def test_the_collection_task_sweeps_spools_abandoned_by_dead_processes(settings):
    from apps.packages.tasks import ABANDONED_SPOOL_SECONDS, collect_garbage

    abandoned, live, other = (settings.TMP_DIR / name for name in ("upload-dead", "upload-live", "keep.txt"))
    for path in (abandoned, live, other):
        path.write_bytes(b"partial")
    long_ago = time.time() - ABANDONED_SPOOL_SECONDS - 60
    os.utime(abandoned, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    collect_garbage()
    assert not abandoned.exists() and live.exists() and other.exists()
    live.unlink()
    other.unlink()
