"""The hot path (DESIGN.md §8): a simple page is built once per change and then answered in
a constant number of queries, however many files the project has."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.signals import request_started
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from apps.core.config_cache import ConfigurationCheckMiddleware
from apps.pypi.negotiation import JSON_V1
from apps.repositories.models import Repository
from apps.repositories.resolve import readable_sources
from apps.repositories.selectors import repository_get
from tests.factories import make_repository
from tests.factories.pypi import make_wheel
from tests.pypi.upstream import StaticIndex

pytestmark = pytest.mark.django_db(transaction=True)


def access_queries(repo_key: str) -> int:
    """Queries an anonymous read of ``repo_key`` costs a request before any PyPI work: looking
    up the repository and deciding what the caller may read (repositories' and security's
    code), with the configuration cache as every request after the first finds it (filled
    here: requests that follow pay the same)."""
    def one_request() -> int:
        counts = []

        def view(request):
            with CaptureQueriesContext(connection) as captured:
                readable_sources(AnonymousUser(), repository_get(repo_key), "project/", folder=True)
            counts.append(len(captured.captured_queries))
            return HttpResponse()

        request_started.send(sender=None)
        ConfigurationCheckMiddleware(view)(RequestFactory().get("/")).close()
        return counts[-1]

    one_request()  # learns the configuration generation
    one_request()  # fills the cache under it
    warm = one_request()
    # None: repository, rules and settings come from the cache, and the configuration
    # generation is read along with the request's first query of its own (or at its end).
    assert warm == 0, warm
    return warm


def upload_many(client: Client, tmp_path, project: str, count: int) -> None:
    import hashlib

    for i in range(count):
        wheel = make_wheel(tmp_path, project, f"1.{i}")
        with open(wheel, "rb") as handle:
            response = client.post("/api/pypi/pypi-local/", {
                ":action": "file_upload", "content": handle,
                "sha256_digest": hashlib.sha256(wheel.read_bytes()).hexdigest()},
                HTTP_AUTHORIZATION="Basic YWRtaW46cGFzc3dvcmQ=")
        assert response.status_code == 200, response.content


@pytest.mark.parametrize("repo_key", ["pypi-local", "pypi"])
def test_warm_page_takes_the_same_queries_for_1_and_40_files(bootstrapped, tmp_path, repo_key,
                                                           django_assert_num_queries):
    Repository.objects.filter(key="pypi-remote").update(offline=True)  # never the internet
    client = Client()
    upload_many(client, tmp_path, "small", 1)
    upload_many(client, tmp_path, "large", 40)
    counts = {}
    for project in ("small", "large"):
        url = f"/api/pypi/{repo_key}/simple/{project}/"
        first = client.get(url, HTTP_ACCEPT=JSON_V1)
        assert first.status_code == 200
        with CaptureQueriesContext(connection) as captured:
            warm = client.get(url, HTTP_ACCEPT=JSON_V1)
        assert b"".join(warm.streaming_content) == b"".join(first.streaming_content)
        counts[project] = len(captured.captured_queries)
        with django_assert_num_queries(counts[project]):
            assert client.get(url, HTTP_ACCEPT=JSON_V1, HTTP_IF_NONE_MATCH=warm["ETag"]).status_code == 304
    assert counts["small"] == counts["large"]
    # What every read of this repository pays (the repository, the caller's rules, a virtual
    # repository's members), and one query for the page with its serials and allow list (and
    # the configuration generation).
    assert counts["small"] == access_queries(repo_key) + 1


def test_warm_remote_page_takes_the_same_queries_for_1_and_40_files(bootstrapped, tmp_path,
                                                                   django_assert_num_queries):
    upstream = StaticIndex()
    upstream.add(make_wheel(tmp_path, "small", "1.0"))
    for i in range(40):
        upstream.add(make_wheel(tmp_path, "large", f"1.{i}"))
    upstream.start()
    try:
        make_repository("q-remote", "remote", "pypi", url=upstream.url)
        client = Client()
        for project in ("small", "large"):
            url = f"/api/pypi/q-remote/simple/{project}/"
            assert client.get(url, HTTP_ACCEPT=JSON_V1).status_code == 200
            with django_assert_num_queries(access_queries("q-remote") + 1):
                assert client.get(url, HTTP_ACCEPT=JSON_V1).status_code == 200
        assert upstream.hits["/simple/large/"] == 1
    finally:
        upstream.stop()
