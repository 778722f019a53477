"""The hot paths ask the database a constant number of times, however many files, grants or
repositories there are (in-process, where queries can be counted)."""

import base64

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.packages.models import Artifact, Blob
from apps.packages.services import artifact_record_download, blob_ingest
from apps.packages.storage import Spool
from apps.repositories.models import Repository
from tests.factories import grant, make_repository, make_user

pytestmark = pytest.mark.django_db(transaction=True)
READER = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"reader:secret-pass").decode()}


def queries(client: Client, url: str, **headers) -> int:
    """Queries of one request, once earlier ones have done the once-a-minute work (verifying
    the password, recording the login) and filled the configuration cache (the user the
    remembered credentials name), as for every request after the first few."""
    for _ in range(2):
        client.get(url, **headers)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


def add_files(count: int, start: int = 0) -> None:
    repository = Repository.objects.get(key="generic-local")
    blob = Blob.objects.first()
    if blob is None:
        with Spool() as spool:
            spool.write(b"same bytes")
            blob = blob_ingest(spool.finish())
    Artifact.objects.bulk_create(Artifact(repository=repository, path=f"many/f{n:04d}.bin", blob=blob)
                                 for n in range(start, start + count))


@pytest.fixture
def reader(bootstrapped):
    make_user("reader")
    grant("reader-0", repositories=["generic-local"], users={"reader": ["read"]})
    return READER


@pytest.mark.parametrize("url", [
    "/generic-local/many/f0000.bin",
    "/api/storage/generic-local/many/f0000.bin",
    "/api/storage/generic-local/many?list&deep=1",
    "/api/storage/generic-local/many",
    "/generic-local/many/",
])
@pytest.mark.parametrize("who", ["anonymous", "reader"])
def test_reads_do_not_grow_with_files_or_grants(reader, url, who):
    headers = reader if who == "reader" else {}
    client = Client()
    add_files(5)
    few = queries(client, url, **headers)
    add_files(50, start=5)
    for n in range(1, 15):
        grant(f"reader-{n}", repositories=["generic-local"], users={"reader": ["read"]},
              include=[f"other-{n}/**"])
    assert queries(client, url, **headers) == few


def test_repository_list_does_not_grow_with_repositories(reader):
    client = Client()
    few = queries(client, "/api/repositories", **reader)
    for n in range(10):
        make_repository(f"extra-local-{n}")
        make_repository(f"extra-virtual-{n}", "virtual", members=[f"extra-local-{n}", "generic-local"])
    assert queries(client, "/api/repositories", **reader) == few


@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
def test_a_download_count_is_committed_without_waiting_for_the_flush_and_only_its_own(bootstrapped):
    """The count's transaction alone commits unflushed: the session's setting stays on, and
    inside a caller's transaction the caller's commit keeps waiting for the flush."""
    add_files(1)
    artifact = Artifact.objects.get(path="many/f0000.bin")

    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('synchronous_commit')")
            return cursor.fetchone()[0]

    artifact_record_download(artifact)
    artifact_record_download(artifact)
    assert setting() == "on"
    with transaction.atomic():
        artifact_record_download(artifact)
        assert setting() == "on"
    artifact.refresh_from_db()
    assert artifact.download_count == 3 and artifact.last_downloaded is not None
