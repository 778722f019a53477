"""Spool: what is written is kept and hashed exactly, whatever the sizes of the writes."""

import hashlib
import os

import pytest

from apps.packages.storage import PARALLEL_HASH_MIN, Spool


def expected(data: bytes) -> dict:
    return {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}


@pytest.mark.parametrize("sizes", [
    [],
    [10, 20, 30],
    [PARALLEL_HASH_MIN - 1, PARALLEL_HASH_MIN, 5, 3 * 1024 * 1024, 1],
    [1024 * 1024] * 12,
])
def test_digests_and_bytes_match_what_was_written(sizes, settings):
    chunks = [os.urandom(size) for size in sizes]
    with Spool() as spool:
        for chunk in chunks:
            spool.write(chunk)
        spool.finish()
        assert spool.digests() == expected(b"".join(chunks))
        assert spool.size == sum(sizes)
        assert spool.file.read() == b"".join(chunks)
        path = spool.temporary_file_path()
    assert not os.path.exists(path)


def test_a_reused_buffer_is_hashed_as_it_was_when_written(settings):
    buffer, written = bytearray(PARALLEL_HASH_MIN * 4), []
    with Spool() as spool:
        for n in range(8):
            buffer[:] = bytes([n]) * len(buffer)
            spool.write(buffer)
            written.append(bytes(buffer))
        assert spool.digests() == expected(b"".join(written))


def test_closing_midway_stops_the_hashing(settings):
    spool = Spool()
    spool.write(os.urandom(2 * 1024 * 1024))
    path, threads = spool.temporary_file_path(), [h._thread for h in spool._hashing]
    assert threads and all(thread.name == "spool-hashing" for thread in threads)
    spool.close()
    assert not os.path.exists(path)
    assert not any(thread.is_alive() for thread in threads)


@pytest.mark.parametrize("sizes", [[10, 20], [1024 * 1024] * 3])
def test_a_spool_computes_only_the_digests_asked_for(sizes, settings):
    chunks = [os.urandom(size) for size in sizes]
    with Spool(("sha256",)) as spool:
        for chunk in chunks:
            spool.write(chunk)
        assert spool.digests() == {"sha256": hashlib.sha256(b"".join(chunks)).hexdigest()}


def test_a_spool_always_computes_sha256(settings):
    with pytest.raises(ValueError):
        Spool(("md5", "sha1"))
