"""Garbage collection as production runs it: a real Celery worker (embedded broker or Redis),
sent the task directly or by celery beat from the schedule bootstrap registers. Blobs no
artifact uses go once they are older than the grace period; everything else stays."""

import hashlib
import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.packages.models import Blob
from apps.packages.storage import blob_key

from .workers import REDIS_TEST_BROKER, CeleryProcess, empty_broker, send_task

pytestmark = pytest.mark.django_db(transaction=True)
GRACE = {"REPOMGR_GC_GRACE_SECONDS": "600"}


@pytest.fixture(params=[("filesystem://", "filesystem"), (REDIS_TEST_BROKER, "s3")],
                ids=["embedded-broker-filesystem", "redis-broker-s3"])
def setup(request, bootstrapped, settings):
    """(broker, live server, env for Celery processes, stored(sha256) -> bool)."""
    broker, backend = request.param
    empty_broker(broker)
    if backend == "filesystem":
        server, env = request.getfixturevalue("server"), {}
        stored = lambda sha256: (settings.DATA_DIR / "storage" / blob_key(sha256)).exists()  # noqa: E731
    else:
        server, s3 = request.getfixturevalue("s3_live_server"), request.getfixturevalue("s3_server")
        env = {k: v for k, v in server.env.items() if k.startswith("REPOMGR_S")}
        stored = lambda sha256: any(k.endswith(sha256) for k in s3.keys(server.bucket))  # noqa: E731
    return broker, server, {**env, **GRACE}, stored


def deploy_and_orphan(server, admin_http) -> dict[str, str]:
    """Three blobs: 'old' (unreferenced for longer than the grace period), 'young'
    (unreferenced, inside the grace period) and 'used' (still an artifact)."""
    sha = {}
    for name in ("old", "young", "used"):
        data = os.urandom(100_000)
        sha[name] = hashlib.sha256(data).hexdigest()
        assert admin_http.put(f"{server.url}/generic-local/gc/{name}.bin", data=data).status_code == 201
    for name in ("old", "young"):
        assert admin_http.delete(f"{server.url}/generic-local/gc/{name}.bin").status_code == 204
    Blob.objects.filter(sha256=sha["old"]).update(touched=timezone.now() - timedelta(hours=2))
    return sha


def wait_until_collected(sha256: str, *processes: CeleryProcess) -> None:
    deadline = time.monotonic() + 90
    while Blob.objects.filter(sha256=sha256).exists():
        if time.monotonic() > deadline:
            pytest.fail("garbage was not collected:\n" + "\n".join(p.log()[-3000:] for p in processes))
        time.sleep(0.2)


def assert_only_old_collected(sha: dict, stored, server, http) -> None:
    assert not stored(sha["old"])
    assert Blob.objects.filter(sha256__in=[sha["young"], sha["used"]]).count() == 2
    assert stored(sha["young"]) and stored(sha["used"])
    got = http.get(f"{server.url}/generic-local/gc/used.bin")
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha["used"]


def test_a_worker_collects_unreferenced_blobs_after_the_grace_period(setup, admin_http, http):
    broker, server, env, stored = setup
    sha = deploy_and_orphan(server, admin_http)
    worker = CeleryProcess("worker", broker, env).start()
    try:
        send_task(broker, "packages.collect_garbage")
        wait_until_collected(sha["old"], worker)
    finally:
        worker.stop()
    assert "packages.collect_garbage" in worker.log()
    assert_only_old_collected(sha, stored, server, http)


def test_bootstrap_registers_the_schedule_and_beat_runs_it(server, admin_http, http, settings):
    task = PeriodicTask.objects.get(task="packages.collect_garbage")
    assert task.enabled and task.interval.every == 4 and task.interval.period == IntervalSchedule.HOURS

    broker = "filesystem://"
    empty_broker(broker)
    sha = deploy_and_orphan(server, admin_http)
    task.interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    task.save()
    worker = CeleryProcess("worker", broker, GRACE).start()
    beat = CeleryProcess("beat", broker, GRACE).start()
    try:
        wait_until_collected(sha["old"], worker, beat)
    finally:
        beat.stop()
        worker.stop()
    assert "packages.collect_garbage" in beat.log()
    stored = lambda sha256: (settings.DATA_DIR / "storage" / blob_key(sha256)).exists()  # noqa: E731
    assert_only_old_collected(sha, stored, server, http)
