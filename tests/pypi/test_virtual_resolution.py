"""A virtual repository resolves a file as Artifactory does: local members, then the remote
members' caches, then their upstreams, each in member order."""

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
