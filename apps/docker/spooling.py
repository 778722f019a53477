"""Receiving layers: hundreds of megabytes per request, hashed three ways for the storage core.
md5 alone costs as much as sha1 and sha256 together, so it runs on another core beside them
(hashlib releases the GIL while it digests a large buffer)."""

from concurrent.futures import ThreadPoolExecutor

from apps.packages.storage import Spool, spool_stream

_md5_workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="docker-md5")


class ParallelSpool(Spool):
    def write(self, data: bytes) -> None:
        md5 = _md5_workers.submit(self._hashers["md5"].update, data)
        try:
            self.file.write(data)
            self._hashers["sha1"].update(data)
            self._hashers["sha256"].update(data)
        finally:
            md5.result()
        self.size += len(data)


def receive(stream, length: int | None) -> Spool:
    """The request body in a spool (see spool_stream)."""
    return spool_stream(stream, length, spool=ParallelSpool())
