"""The blob store: a narrow interface over Django's STORAGES["artifacts"].

Layout (the only place it is defined): ``blobs/sha256/<2 hex>/<2 hex>/<sha256>``, and
``uploads/<upload id>/<6-digit part>`` for uploads that span requests (Docker's chunked blob
uploads), kept in the store so that any node can take an upload's next request.
Bytes arrive as a Spool (a hashed temp file on the data disk) and become visible in one step:
a rename on the filesystem store, a single PUT object on S3.
"""

import hashlib
import os
import queue
import tempfile
import threading
import time
from functools import cache
from typing import IO

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages

from apps.core.errors import BadRequest

CHUNK = 1024 * 1024
ALL_DIGESTS = ("md5", "sha1", "sha256")
# What the Docker registry protocol verifies; md5 and sha1 of such blobs are completed later.
SHA256_ONLY = ("sha256",)
# Writes at least this large are hashed on two threads beside the one that receives them.
PARALLEL_HASH_MIN = 64 * 1024


def blob_key(sha256: str) -> str:
    return f"blobs/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def part_key(upload_id: str, index: int) -> str:
    return f"uploads/{upload_id}/{index:06d}"


class IncompleteBody(BadRequest):
    """The client sent fewer bytes than it announced, or the connection broke."""


SPOOL_PREFIX = "upload-"


def spools_sweep(*, older_than_seconds: int) -> int:
    """Remove spool files left in the temp dir by a process that died mid-request (a killed
    worker never runs its clean-up). Returns how many were removed."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    with os.scandir(settings.TMP_DIR) as entries:
        for entry in entries:
            if entry.name.startswith(SPOOL_PREFIX) and entry.is_file() and entry.stat().st_mtime < cutoff:
                try:
                    os.unlink(entry.path)
                    removed += 1
                except FileNotFoundError:
                    pass  # its owner finished after all
    return removed


class Spool(File):
    """A temp file that hashes what is written to it (md5, sha1 and sha256 unless told
    ``algorithms``); removed on close unless moved away.

    ``temporary_file_path()`` lets Django's filesystem storage move it into place instead of
    copying it.
    """

    def __init__(self, algorithms: tuple[str, ...] = ALL_DIGESTS):
        if "sha256" not in algorithms:
            raise ValueError("a spool always computes sha256: blobs are stored under it")
        fd, path = tempfile.mkstemp(dir=settings.TMP_DIR, prefix=SPOOL_PREFIX)
        super().__init__(os.fdopen(fd, "w+b"), name=os.path.basename(path))
        self._path = path
        self._hashers = {name: hashlib.new(name) for name in algorithms}
        self._hashing: list[_HashingThread] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        """Write, and hash: small writes at once, large ones on other threads while the caller
        reads the next chunk, md5 on one and the rest on another (md5 costs about as much as
        sha1 + sha256; hashlib lets go of the GIL for large buffers, so they run on two cores)."""
        data = bytes(data)  # the threads must see these bytes, not a buffer reused meanwhile
        self.file.write(data)
        self.size += len(data)
        if not self._hashing and len(data) < PARALLEL_HASH_MIN:
            for hasher in self._hashers.values():
                hasher.update(data)
            return
        if not self._hashing:
            groups = ([h for name, h in self._hashers.items() if name == "md5"],
                      [h for name, h in self._hashers.items() if name != "md5"])
            self._hashing = [_HashingThread(group) for group in groups if group]
        for hashing in self._hashing:
            hashing.feed(data)

    def digests(self) -> dict[str, str]:
        """The hex digest of each algorithm the spool computes."""
        self._wait_for_hashing()
        return {name: hasher.hexdigest() for name, hasher in self._hashers.items()}

    def _wait_for_hashing(self) -> None:
        hashing, self._hashing = self._hashing, []
        failures = [thread.finish() for thread in hashing]  # every thread ends, even after a failure
        for failure in failures:
            if failure is not None:
                raise failure

    def temporary_file_path(self) -> str:
        return self._path

    def finish(self) -> "Spool":
        self.file.flush()
        self.file.seek(0)
        return self

    def close(self) -> None:
        self._wait_for_hashing()
        super().close()
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass  # moved into the store

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _HashingThread:
    """Feeds chunks, in order, to hashers on another thread; at most a few chunks wait."""

    def __init__(self, hashers: list):
        self._hashers = hashers
        self._failure: BaseException | None = None
        self._chunks: queue.Queue = queue.Queue(maxsize=4)
        self._thread = threading.Thread(target=self._run, name="spool-hashing", daemon=True)
        self._thread.start()

    def feed(self, data: bytes) -> None:
        self._chunks.put(data)

    def finish(self) -> BaseException | None:
        """Wait until every chunk is hashed. Returns whatever stopped the hashing."""
        self._chunks.put(None)
        self._thread.join()
        return self._failure

    def _run(self) -> None:
        while (data := self._chunks.get()) is not None:
            if self._failure is not None:
                continue  # keep taking chunks, so that feed() never blocks for good
            try:
                for hasher in self._hashers:
                    hasher.update(data)
            except BaseException as exc:  # noqa: BLE001 - handed to finish()
                self._failure = exc


def spool_stream(stream: IO[bytes], length: int | None, *, spool: Spool | None = None,
                 algorithms: tuple[str, ...] = ALL_DIGESTS) -> Spool:
    """Copy a request body into a Spool (``spool``, or a new one computing ``algorithms``);
    ``length`` None reads to end of stream.

    Raises IncompleteBody if the client sends less than ``length`` or disconnects.
    """
    spool = Spool(algorithms) if spool is None else spool
    try:
        remaining = length
        while remaining is None or remaining > 0:
            want = CHUNK if remaining is None else min(CHUNK, remaining)
            try:
                data = stream.read(want)
            except (OSError, ValueError) as exc:
                raise IncompleteBody(f"the upload was interrupted: {exc.__class__.__name__}") from exc
            if not data:
                break
            spool.write(data)
            if remaining is not None:
                remaining -= len(data)
        if remaining:
            raise IncompleteBody(f"the upload ended after {spool.size} of {length} bytes")
    except BaseException:
        spool.close()
        raise
    return spool.finish()


class BlobStore:
    """Stores and serves blobs by sha256; nothing outside this class knows the storage layout."""

    def __init__(self, storage: Storage):
        self.storage = storage

    def exists(self, sha256: str) -> bool:
        return self.storage.exists(blob_key(sha256))

    def put(self, sha256: str, spool: Spool) -> None:
        """Make the spooled bytes visible under their key (idempotent: same key, same bytes)."""
        self._save(blob_key(sha256), spool)

    def open(self, sha256: str) -> IO[bytes]:
        return self._open(blob_key(sha256))

    def _save(self, key: str, spool: Spool) -> None:
        spool.file.seek(0)
        self.storage.save(key, spool)

    def _open(self, key: str) -> IO[bytes]:
        return self.storage.open(key, "rb")

    def redirect_url(self, sha256: str, filename: str) -> str | None:
        """A URL the client may fetch the bytes from directly, when the store offers one."""
        return None

    def delete(self, sha256: str) -> None:
        self.storage.delete(blob_key(sha256))

    def put_part(self, upload_id: str, index: int, spool: Spool) -> None:
        """Keep part ``index`` of an upload in progress."""
        self._save(part_key(upload_id, index), spool)

    def open_part(self, upload_id: str, index: int) -> IO[bytes]:
        return self._open(part_key(upload_id, index))

    def part_path(self, upload_id: str, index: int) -> str | None:
        """The part's file when the store is a local filesystem (a blob can then be renamed
        from it instead of copied), else None."""
        try:
            return self.storage.path(part_key(upload_id, index))
        except NotImplementedError:
            return None

    def delete_parts(self, upload_id: str, count: int) -> None:
        for index in range(count):
            self.storage.delete(part_key(upload_id, index))
        folder = self.part_path(upload_id, 0)
        if folder is not None:
            try:
                os.rmdir(os.path.dirname(folder))
            except OSError:
                pass  # not there, or not empty (a part still arriving)

    def usage(self) -> dict:
        """Where the store keeps bytes, and how full that place is (filesystem only)."""
        try:
            root = self.storage.path("")
        except NotImplementedError:
            return {"storageType": "s3", "storageDirectory": getattr(self.storage, "bucket_name", "")}
        os.makedirs(root, exist_ok=True)
        stats = os.statvfs(root)
        total, free = stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize
        return {"storageType": "filesystem", "storageDirectory": root,
                "totalSpace": total, "usedSpace": total - free, "freeSpace": free}


class S3BlobStore(BlobStore):
    """S3: reads stream the object body (django-storages' file would download it whole first)."""

    def _open(self, key: str) -> IO[bytes]:
        return _S3Body(self.storage.bucket.Object(self.storage._normalize_name(key)))

    def redirect_url(self, sha256: str, filename: str) -> str | None:
        if not settings.STORAGE_REDIRECT:
            return None
        return self.storage.url(blob_key(sha256), parameters={
            "ResponseContentDisposition": f'attachment; filename="{filename}"'})


class _S3Body:
    """A forward-only reader of an S3 object that starts at the first read (after seek)."""

    def __init__(self, obj):
        self._obj = obj
        self._start = 0
        self._body = None

    def seek(self, offset: int) -> None:
        self._start = offset

    def read(self, size: int = -1) -> bytes:
        if self._body is None:
            # S3 refuses any Range on an empty object, so ask for one only when it matters.
            ranged = {"Range": f"bytes={self._start}-"} if self._start else {}
            try:
                self._body = self._obj.get(**ranged)["Body"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise FileNotFoundError(self._obj.key) from exc
                raise
        return self._body.read(size if size and size > 0 else None)

    def close(self) -> None:
        if self._body is not None:
            self._body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@cache
def blob_store() -> BlobStore:
    store_class = S3BlobStore if settings.STORAGE_BACKEND == "s3" else BlobStore
    return store_class(storages["artifacts"])
