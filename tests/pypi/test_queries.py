"""The hot path (DESIGN.md §8): a simple page is built once per change and then answered in
a constant number of queries, however many files the project has."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.pypi.negotiation import JSON_V1
from apps.repositories.models import Repository
from tests.factories.pypi import make_wheel

pytestmark = pytest.mark.django_db(transaction=True)


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
    assert counts["small"] <= (7 if repo_key == "pypi-local" else 10)
