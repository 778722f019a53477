"""Layers are hashed sha256-only while the client pushes (what the registry protocol checks);
a real Celery worker computes their md5 and sha1 afterwards. Until then the storage API and
downloads leave those two out rather than show a wrong or empty one."""

import hashlib
import os
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.packages.models import Blob
from tests.factories.docker import push_blob, sha256
from tests.storage.workers import CeleryProcess, empty_broker

pytestmark = pytest.mark.django_db(transaction=True)
# The broker the live server queues on: it has the same environment (CI sets Redis; else the
# embedded broker in the data dir they share).
BROKER = settings.CELERY_BROKER_URL


def push_chunked(session, base: str, image_name: str, data: bytes) -> int:
    """POST, one PATCH with the whole layer, closing PUT: how docker and skopeo push."""
    started = session.post(f"{base}/v2/{image_name}/blobs/uploads/")
    location = base + started.headers["Location"]
    assert session.patch(location, data=data).status_code == 202
    return session.put(location, params={"digest": sha256(data)}).status_code


def storage_info(session, base: str, image_name: str, data: bytes) -> dict:
    path = f"{image_name}/_blobs/sha256__{hashlib.sha256(data).hexdigest()}"
    response = session.get(f"{base}/api/storage/{path}")
    assert response.status_code == 200, response.text
    return response.json()


def true_checksums(data: bytes) -> dict:
    return {name: hashlib.new(name, data).hexdigest() for name in ("sha1", "md5", "sha256")}


def wait_for_checksums(blobs: list[bytes], worker: CeleryProcess) -> None:
    wanted = [hashlib.sha256(data).hexdigest() for data in blobs]
    deadline = time.monotonic() + 90
    while Blob.objects.filter(sha256__in=wanted).exclude(md5="").exclude(sha1="").count() < len(wanted):
        if time.monotonic() > deadline:
            pytest.fail("checksums were not completed:\n" + worker.log()[-3000:])
        time.sleep(0.2)


def test_a_pushed_layer_is_stored_sha256_only_and_the_worker_adds_md5_and_sha1(server, admin_http):
    empty_broker(BROKER)
    monolithic, chunked = os.urandom(300_000), os.urandom(2_500_000)
    assert push_blob(admin_http, server.url, "docker-local/sums", monolithic).status_code == 201
    assert push_chunked(admin_http, server.url, "docker-local/sums", chunked) == 201

    for data in (monolithic, chunked):
        blob = Blob.objects.get(sha256=hashlib.sha256(data).hexdigest())
        assert (blob.md5, blob.sha1, blob.size) == ("", "", len(data))
        info = storage_info(admin_http, server.url, "docker-local/sums", data)
        assert info["checksums"] == info["originalChecksums"] == {"sha256": blob.sha256}
    listed = admin_http.get(f"{server.url}/api/storage/docker-local/sums/_blobs?list&deep=1").json()
    assert len(listed["files"]) == 2
    assert all("sha1" not in entry and "sha2" in entry for entry in listed["files"])

    worker = CeleryProcess("worker", BROKER).start()
    try:
        wait_for_checksums([monolithic, chunked], worker)
    finally:
        worker.stop()
    assert "packages.complete_checksums" in worker.log()
    for data in (monolithic, chunked):
        blob = Blob.objects.get(sha256=hashlib.sha256(data).hexdigest())
        assert blob.checksums == true_checksums(data)
        info = storage_info(admin_http, server.url, "docker-local/sums", data)
        assert info["checksums"] == info["originalChecksums"] == true_checksums(data)
        pulled = admin_http.get(f"{server.url}/v2/docker-local/sums/blobs/{sha256(data)}")
        assert pulled.content == data


def test_a_layer_whose_task_was_lost_is_completed_by_a_later_one(server, admin_http):
    empty_broker(BROKER)
    lost, later = os.urandom(200_000), os.urandom(200_000)
    assert push_blob(admin_http, server.url, "docker-local/lost", lost).status_code == 201
    empty_broker(BROKER)  # as if the broker had lost the task
    Blob.objects.filter(sha256=hashlib.sha256(lost).hexdigest()).update(
        created=timezone.now() - timedelta(hours=1))
    assert push_blob(admin_http, server.url, "docker-local/lost", later).status_code == 201

    worker = CeleryProcess("worker", BROKER).start()
    try:
        wait_for_checksums([lost, later], worker)
    finally:
        worker.stop()
    for data in (lost, later):
        assert Blob.objects.get(sha256=hashlib.sha256(data).hexdigest()).checksums == true_checksums(data)


def test_deploying_the_same_bytes_with_all_checksums_completes_the_blob(server, admin_http):
    layer = os.urandom(150_000)
    assert push_blob(admin_http, server.url, "docker-local/dedup", layer).status_code == 201
    raw = admin_http.get(f"{server.url}/docker-local/dedup/_blobs/sha256__{hashlib.sha256(layer).hexdigest()}")
    assert raw.status_code == 200 and raw.content == layer
    assert raw.headers["X-Checksum-Sha256"] == hashlib.sha256(layer).hexdigest()
    assert "X-Checksum-Md5" not in raw.headers and "X-Checksum-Sha1" not in raw.headers
    assert raw.headers["ETag"] == f'"{hashlib.sha256(layer).hexdigest()}"'

    deployed = admin_http.put(f"{server.url}/generic-local/copy/layer.bin", data=layer)
    assert deployed.status_code == 201
    assert deployed.json()["checksums"] == true_checksums(layer)
    assert Blob.objects.filter(sha256=hashlib.sha256(layer).hexdigest()).count() == 1
    assert storage_info(admin_http, server.url, "docker-local/dedup", layer)["checksums"] == true_checksums(layer)
    raw = admin_http.get(f"{server.url}/docker-local/dedup/_blobs/sha256__{hashlib.sha256(layer).hexdigest()}")
    assert raw.headers["X-Checksum-Md5"] == hashlib.md5(layer).hexdigest()
    assert raw.headers["X-Checksum-Sha1"] == hashlib.sha1(layer).hexdigest()
