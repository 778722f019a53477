"""The cold path of a remote repository (DESIGN.md §8): a package pip or uv has never asked for
costs a fixed, small number of statements per request, and a cached file leaves in a constant
number whatever its size. Transaction control (BEGIN, COMMIT, savepoints) is left out of the
counts: SQLite logs it, PostgreSQL does not."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.pypi.negotiation import JSON_V1
from tests.factories import make_repository
from tests.factories.pypi import make_wheel
from tests.pypi.test_queries import access_queries
from tests.pypi.upstream import StaticIndex

pytestmark = pytest.mark.django_db(transaction=True)
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def statements(client: Client, url: str, **headers) -> tuple[int, bytes]:
    """(statements the request ran, its body read to the end)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        response.close()
    return sum(not q["sql"].startswith(CONTROL) for q in captured.captured_queries), body


@pytest.fixture
def upstream(tmp_path):
    index = StaticIndex()
    for project, filler in (("first", 0), ("second", 0), ("bigger", 3_000_000)):
        index.add(make_wheel(tmp_path, project, "1.0", filler=filler))
    index.start()
    yield index
    index.stop()


def test_a_cold_package_costs_a_fixed_number_of_statements_per_request(bootstrapped, upstream):
    make_repository("cold-remote", "remote", "pypi", url=upstream.url)
    client, access = Client(), access_queries("cold-remote")
    for project in ("first", "second"):
        wheel = f"/api/pypi/cold-remote/packages/{project}/{project}-1.0-py3-none-any.whl"
        # The stored page probed, the upstream page read from the cache, stored, the page stored.
        assert statements(client, f"/api/pypi/cold-remote/simple/{project}/", HTTP_ACCEPT=JSON_V1)[0] == access + 4
        # No cached file; the upstream page (cached); the upstream's .metadata (cache, stored).
        assert statements(client, wheel + ".metadata")[0] == access + 4
        # No cached file; the upstream page (cached); no remembered miss; the claim, the look
        # after it, the spool noted; the blob (touched if known, else inserted: 2) and the
        # artifact (no file/folder clash, inserted: 2) stored, no transaction around them; the
        # claim released.
        count, body = statements(client, wheel)
        assert body == upstream.blobs[wheel.rsplit("/", 1)[1]]
        assert count == access + 11
    assert upstream.hits["/simple/first/"] == upstream.hits["/files/first-1.0-py3-none-any.whl"] == 1


def test_a_cached_file_leaves_in_the_same_statements_whatever_its_size(bootstrapped, upstream):
    make_repository("cold-remote", "remote", "pypi", url=upstream.url)
    client, counts = Client(), {}
    for project in ("first", "bigger"):
        wheel = f"/api/pypi/cold-remote/packages/{project}/{project}-1.0-py3-none-any.whl"
        assert statements(client, wheel)[1] == upstream.blobs[wheel.rsplit("/", 1)[1]]
        counts[project], body = statements(client, wheel)
        assert body == upstream.blobs[wheel.rsplit("/", 1)[1]]
    # The artifact with its blob, and the download counted.
    assert counts["first"] == counts["bigger"] == access_queries("cold-remote") + 2


def test_a_cached_file_and_a_page_are_handed_to_the_server_to_copy_in_stream_blocks(bootstrapped, upstream):
    """Django passes a cached file, and a stored simple page, to the server's
    ``wsgi.file_wrapper`` with STREAM_BLOCK as the block size (not its default 4 KB)."""
    import io
    from wsgiref.util import setup_testing_defaults

    from django.core.wsgi import get_wsgi_application

    from apps.core.http import STREAM_BLOCK

    make_repository("cold-remote", "remote", "pypi", url=upstream.url)
    wheel = "/api/pypi/cold-remote/packages/bigger/bigger-1.0-py3-none-any.whl"
    statements(Client(), wheel)  # into the cache
    wrapped = []

    def file_wrapper(filelike, block_size):
        wrapped.append(block_size)
        return iter(lambda: filelike.read(block_size), b"")

    def served(path: str) -> bytes:
        environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.file_wrapper": file_wrapper,
                   "wsgi.input": io.BytesIO(), "HTTP_ACCEPT": JSON_V1}
        setup_testing_defaults(environ)
        statuses = []
        body = b"".join(get_wsgi_application()(environ, lambda status, headers: statuses.append(status)))
        assert statuses == ["200 OK"]
        return body

    assert served(wheel) == upstream.blobs["bigger-1.0-py3-none-any.whl"]
    assert b'"bigger-1.0-py3-none-any.whl"' in served("/api/pypi/cold-remote/simple/bigger/")
    assert wrapped == [STREAM_BLOCK, STREAM_BLOCK]
