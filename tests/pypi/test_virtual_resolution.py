"""A virtual repository resolves a file as Artifactory does: local members, then the remote
members' caches, then their upstreams, each in member order, passing over an upstream that
cannot be reached."""

import pytest
from django.test import Client

from tests.factories import make_repository
from tests.factories.pypi import make_wheel
from tests.pypi.upstream import StaticIndex

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upstreams(tmp_path):
    wheels = [make_wheel(tmp_path, "shared", "1.0"), make_wheel(tmp_path, "fresh", "1.0")]
    indexes = [StaticIndex(), StaticIndex()]
    for index in indexes:
        for wheel in wheels:
            index.add(wheel)
        index.start()
    yield indexes
    for index in indexes:
        index.stop()


def _get(client, url):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    return response.status_code, body


def test_a_later_members_cache_answers_before_an_earlier_members_upstream(bootstrapped, upstreams):
    first, second = upstreams
    make_repository("first-remote", "remote", "pypi", url=first.url)
    make_repository("second-remote", "remote", "pypi", url=second.url)
    make_repository("both", "virtual", "pypi", members=["first-remote", "second-remote"])
    client = Client()
    path = "packages/shared/shared-1.0-py3-none-any.whl"
    status, cached = _get(client, f"/api/pypi/second-remote/{path}")  # now in second's cache
    assert status == 200 and sum(first.hits.values()) == 0

    for url in (f"/api/pypi/both/{path}", f"/api/pypi/both/{path}.metadata"):
        assert _get(client, url)[0] == 200
    assert _get(client, f"/api/pypi/both/{path}")[1] == cached
    assert sum(first.hits.values()) == 0  # the first member's upstream was never asked

    # A file no cache holds comes from the first member's upstream.
    assert _get(client, "/api/pypi/both/packages/fresh/fresh-1.0-py3-none-any.whl")[0] == 200
    assert first.hits["/files/fresh-1.0-py3-none-any.whl"] == 1
    assert second.hits["/files/fresh-1.0-py3-none-any.whl"] == 0


@pytest.fixture
def first_down(bootstrapped, upstreams):
    """A virtual repository whose first remote member's upstream is gone (nothing cached)."""
    first, second = upstreams
    first.stop()
    make_repository("first-remote", "remote", "pypi", url=first.url)
    make_repository("second-remote", "remote", "pypi", url=second.url)
    make_repository("both", "virtual", "pypi", members=["first-remote", "second-remote"])
    return second


def test_an_unreachable_upstream_is_passed_over_for_a_later_members(first_down, tmp_path):
    client = Client()
    path = "packages/shared/shared-1.0-py3-none-any.whl"
    expected = (tmp_path / "shared-1.0-py3-none-any.whl").read_bytes()
    assert _get(client, f"/api/pypi/both/{path}.metadata")[0] == 200  # before anything is cached
    assert _get(client, f"/api/pypi/both/{path}") == (200, expected)
    assert first_down.hits["/files/shared-1.0-py3-none-any.whl"] == 1


def test_the_merged_page_passes_over_an_unreachable_upstream(first_down):
    status, page = _get(Client(), "/api/pypi/both/simple/shared/")
    assert status == 200 and b"shared-1.0-py3-none-any.whl" in page


def test_when_no_upstream_can_be_reached_the_answer_is_unavailable(first_down):
    first_down.stop()
    client = Client()
    response = client.get("/api/pypi/both/packages/shared/shared-1.0-py3-none-any.whl")
    assert response.status_code == 502
    assert response.content == b"Upstream of 'first-remote' is unreachable\n"  # the first failure
    assert client.get("/api/pypi/both/simple/shared/").status_code == 502
    # A file nobody lists stays unavailable too: an unreachable upstream might list it.
    assert client.get("/api/pypi/both/packages/shared/shared-9.9-py3-none-any.whl").status_code == 502


class FailingIndex(StaticIndex):
    """An upstream that is up but answers every request 503, which repomgr takes for
    unavailable; it counts what it was asked, as StaticIndex does."""

    def _answer(self, handler) -> None:
        self._send(handler, 503, b"try later", "text/plain")


@pytest.fixture
def failing(bootstrapped, upstreams):
    """An upstream that fails, alone behind a remote and a virtual repository, and first of two
    members of a virtual repository whose second member's upstream is up (nothing cached)."""
    index = FailingIndex().start()
    make_repository("failing-remote", "remote", "pypi", url=index.url)
    make_repository("second-remote", "remote", "pypi", url=upstreams[1].url)
    make_repository("failing-only", "virtual", "pypi", members=["failing-remote"])
    make_repository("both", "virtual", "pypi", members=["failing-remote", "second-remote"])
    yield index
    index.stop()


@pytest.mark.parametrize("repository, status", [("failing-remote", 502), ("failing-only", 502),
                                                 ("both", 200)])
def test_a_page_request_asks_a_failing_upstream_once(failing, repository, status):
    # An upstream that hangs instead costs the socket timeout each time it is asked.
    client = Client()
    for request in (1, 2):
        answer, body = _get(client, f"/api/pypi/{repository}/simple/shared/")
        assert failing.hits["/simple/shared/"] == request
        assert answer == status
        if status == 502:
            assert body == f"No upstream of '{repository}' could be reached\n".encode()
        else:
            assert b"shared-1.0-py3-none-any.whl" in body


SIMPLE_INDEX = ('<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.1">\n'
                '    <title>Simple index</title>\n  </head>\n  <body>\n{}  </body>\n</html>\n')


@pytest.mark.parametrize("repository, status, anchors", [
    ("failing-remote", 502, None), ("failing-only", 502, None),
    ("both", 200, '    <a href="fresh/">fresh</a>\n    <a href="shared/">shared</a>\n'),
], ids=["failing-remote", "failing-only", "both"])
def test_a_project_list_request_asks_a_failing_upstream_once(failing, repository, status, anchors):
    # The list leaves out what the failing upstream would list; with nothing else to list it
    # is unavailable (502), as a project page is, not an empty index. A second request asks the
    # failing upstream once again (and "both" finds the page the first stored).
    client = Client()
    for request in (1, 2):
        answer, body = _get(client, f"/api/pypi/{repository}/simple/")
        assert failing.hits["/simple/"] == request
        expected = (SIMPLE_INDEX.format(anchors).encode() if anchors is not None
                    else f"No upstream of '{repository}' could be reached\n".encode())
        assert (answer, body) == (status, expected)
