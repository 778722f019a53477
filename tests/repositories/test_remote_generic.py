"""Generic remote and virtual repositories against an upstream the test starts on 127.0.0.1:
one upstream fetch however many clients ask at once, the cache outliving the upstream,
offline mode, the missed-retrieval TTL, and virtual resolution over local and remote members."""

import hashlib
import os
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from apps.packages.models import Artifact
from apps.repositories.models import RemoteDocument, RemoteFetch, Repository
from tests.factories import make_repository

from .upstream import Upstream

pytestmark = pytest.mark.django_db(transaction=True)


def cached(path: str, repository: str = "generic-remote") -> Artifact:
    """The cached artifact, once stored: the first client may have all the bytes a moment
    before the download is verified and stored."""
    deadline = time.monotonic() + 30
    while (artifact := Artifact.objects.filter(repository__key=repository, path=path).first()) is None:
        assert time.monotonic() < deadline, f"{repository}/{path} was never cached"
        time.sleep(0.05)
    return artifact


def fetch_together(url: str, path: str, upstream: Upstream, clients: int) -> list:
    """GET ``url`` from several clients while the upstream holds its answer halfway: the first
    starts the download, the others arrive while it is in progress. Each client's body, or the
    exception it got."""
    outcomes: list = []

    def fetch():
        try:
            outcomes.append(requests.get(url, timeout=120).content)
        except requests.RequestException as exc:
            outcomes.append(exc)

    upstream.gate.clear()
    threads = [threading.Thread(target=fetch) for _ in range(clients)]
    threads[0].start()
    while not RemoteFetch.objects.filter(path=path).exists():
        time.sleep(0.05)
    for thread in threads[1:]:
        thread.start()
    time.sleep(1)  # let the others reach the server while the download is held open
    upstream.gate.set()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def upstream():
    server = Upstream().start()
    yield server
    server.stop()


@pytest.fixture
def remote(server, upstream):
    make_repository("generic-remote", "remote", url=upstream.url + "/files/",
                    missed_retrieval_cache_secs=300, excludes_pattern="**/*.secret")
    return f"{server.url}/generic-remote"


def test_a_file_is_fetched_once_and_then_served_from_the_cache(remote, upstream, http):
    data = os.urandom(2 * 1024 * 1024)
    upstream.files["/files/lib/tool-1.0.tar.gz"] = data
    first = http.get(f"{remote}/lib/tool-1.0.tar.gz")
    assert first.status_code == 200 and first.content == data
    again = http.get(f"{remote}/lib/tool-1.0.tar.gz")
    assert again.content == data and again.headers["X-Checksum-Sha256"] == hashlib.sha256(data).hexdigest()
    assert upstream.asked("/files/lib/tool-1.0.tar.gz") == 1
    artifact = cached("lib/tool-1.0.tar.gz")
    assert artifact.remote_url == upstream.url + "/files/lib/tool-1.0.tar.gz"
    info = http.get(remote.replace("/generic-remote", "/api/storage/generic-remote") + "/lib/tool-1.0.tar.gz")
    assert info.json()["remoteUrl"] == artifact.remote_url


def test_concurrent_clients_share_one_upstream_fetch(remote, upstream):
    data = os.urandom(8 * 1024 * 1024)
    upstream.files["/files/big.bin"] = data
    results = fetch_together(f"{remote}/big.bin", "big.bin", upstream, clients=6)
    assert len(results) == 6 and all(result == data for result in results)
    assert upstream.asked("/files/big.bin") == 1
    assert Artifact.objects.filter(path="big.bin").count() == 1
    assert not RemoteFetch.objects.exists()


def test_the_cache_outlives_the_upstream(remote, upstream, http):
    upstream.files["/files/kept.txt"] = b"kept"
    assert http.get(f"{remote}/kept.txt").content == b"kept"
    cached("kept.txt")
    upstream.stop()
    again = http.get(f"{remote}/kept.txt")
    assert again.status_code == 200 and again.content == b"kept"
    missing = http.get(f"{remote}/never-fetched.txt")
    assert missing.status_code == 502
    assert missing.json()["errors"][0]["status"] == 502


def test_offline_serves_only_the_cache(remote, upstream, http):
    upstream.files["/files/a.txt"] = b"a"
    upstream.files["/files/b.txt"] = b"b"
    assert http.get(f"{remote}/a.txt").content == b"a"
    cached("a.txt")
    Repository.objects.filter(key="generic-remote").update(offline=True)
    assert http.get(f"{remote}/a.txt").content == b"a"
    assert http.get(f"{remote}/b.txt").status_code == 404
    assert upstream.asked("/files/b.txt") == 0


def test_upstream_misses_are_remembered_for_their_ttl(remote, upstream, http):
    assert http.get(f"{remote}/later.txt").status_code == 404
    upstream.files["/files/later.txt"] = b"published later"
    assert http.get(f"{remote}/later.txt").status_code == 404
    assert upstream.asked("/files/later.txt") == 1
    # Once the remembered miss is older than missedRetrievalCachePeriodSecs, upstream is asked again.
    RemoteDocument.objects.filter(key="file:later.txt").update(
        fetched=timezone.now() - timedelta(seconds=301))
    found = http.get(f"{remote}/later.txt")
    assert found.status_code == 200 and found.content == b"published later"
    assert upstream.asked("/files/later.txt") == 2


def test_upstream_errors_and_patterns(remote, upstream, http):
    upstream.statuses["/files/broken.bin"] = 500
    broken = http.get(f"{remote}/broken.bin")
    assert broken.status_code == 502 and broken.json()["errors"][0]["status"] == 502
    upstream.files["/files/key.secret"] = b"excluded"
    assert http.get(f"{remote}/key.secret").status_code == 404
    assert upstream.asked("/files/key.secret") == 0
    assert not Artifact.objects.exists()


def test_upstream_credentials(server, http):
    protected = Upstream(credentials=("robot", "upstream-pass")).start()
    try:
        protected.files["/private.bin"] = b"private bytes"
        make_repository("private-remote", "remote", url=protected.url, username="robot",
                        password="upstream-pass")
        got = http.get(f"{server.url}/private-remote/private.bin")
        assert got.status_code == 200 and got.content == b"private bytes"
        assert "upstream-pass" not in server.log()
    finally:
        protected.stop()


def test_virtual_reads_local_first_then_the_remote_and_deploys_locally(remote, upstream, server,
                                                                        admin_http, http):
    make_repository("generic", "virtual", members=["generic-remote", "generic-local"],
                    deploy_to="generic-local")
    upstream.files["/files/shared.txt"] = b"from upstream"
    upstream.files["/files/only-upstream.txt"] = b"only upstream"
    admin_http.put(f"{server.url}/generic-local/shared.txt", data=b"from local")
    virtual = f"{server.url}/generic"

    assert http.get(f"{virtual}/shared.txt").content == b"from local"
    assert upstream.asked("/files/shared.txt") == 0
    assert http.get(f"{virtual}/only-upstream.txt").content == b"only upstream"
    cached("only-upstream.txt")
    assert http.get(f"{virtual}/nowhere.txt").status_code == 404

    put = admin_http.put(f"{virtual}/deployed.txt", data=b"deployed")
    assert put.status_code == 201 and put.json()["repo"] == "generic-local"
    assert Artifact.objects.get(path="deployed.txt").repository.key == "generic-local"
    assert http.get(f"{virtual}/deployed.txt").content == b"deployed"
    assert admin_http.put(f"{remote}/direct.txt", data=b"x").status_code == 400


def test_a_remote_that_does_not_store_locally_passes_bytes_through(server, upstream, http):
    make_repository("passing-remote", "remote", url=upstream.url + "/files/", store_artifacts_locally=False)
    data = os.urandom(3 * 1024 * 1024)
    upstream.files["/files/through.bin"] = data
    for _ in range(2):
        got = http.get(f"{server.url}/passing-remote/through.bin")
        assert got.status_code == 200 and got.content == data
    assert upstream.asked("/files/through.bin") == 2
    assert http.get(f"{server.url}/passing-remote/absent.bin").status_code == 404
    assert not Artifact.objects.exists() and not RemoteFetch.objects.exists()
    upstream.stop()
    assert http.get(f"{server.url}/passing-remote/through.bin").status_code == 502


def test_virtual_prefers_any_cache_and_passes_over_a_failing_upstream(server, upstream, http):
    second = Upstream().start()
    try:
        make_repository("first-remote", "remote", url=upstream.url + "/files/")
        make_repository("second-remote", "remote", url=second.url + "/files/")
        make_repository("both", "virtual", members=["first-remote", "second-remote"])
        upstream.files["/files/cached-in-second.txt"] = b"first's copy"
        second.files["/files/cached-in-second.txt"] = b"second's copy"
        second.files["/files/only-second.txt"] = b"only second"
        assert http.get(f"{server.url}/second-remote/cached-in-second.txt").content == b"second's copy"
        cached("cached-in-second.txt", "second-remote")

        # Held by the second member's cache: served without asking the first member's upstream.
        assert http.get(f"{server.url}/both/cached-in-second.txt").content == b"second's copy"
        assert upstream.asked("/files/cached-in-second.txt") == 0

        upstream.stop()  # the first member's upstream is down: the second one still answers
        assert http.get(f"{server.url}/both/only-second.txt").content == b"only second"
        nowhere = http.get(f"{server.url}/both/nowhere.txt")
        assert nowhere.status_code == 502  # an upstream failed, so "not found" would be a guess
    finally:
        second.stop()


def test_a_published_sha256_is_verified_before_anyone_gets_the_whole_file(remote, upstream, settings):
    good, bad = os.urandom(3 * 1024 * 1024), os.urandom(3 * 1024 * 1024)
    upstream.files["/files/good.bin"] = good
    upstream.headers["/files/good.bin"] = {"X-Checksum-Sha256": hashlib.sha256(good).hexdigest()}
    upstream.files["/files/bad.bin"] = bad
    upstream.headers["/files/bad.bin"] = {"X-Checksum-Sha256": hashlib.sha256(b"something else").hexdigest()}

    assert requests.get(f"{remote}/good.bin").content == good
    assert cached("good.bin").blob.sha256 == hashlib.sha256(good).hexdigest()

    outcomes = fetch_together(f"{remote}/bad.bin", "bad.bin", upstream, clients=3)
    assert len(outcomes) == 3 and not any(outcome == bad for outcome in outcomes), \
        [type(o).__name__ if isinstance(o, Exception) else len(o) for o in outcomes]
    assert not Artifact.objects.filter(path="bad.bin").exists()
    assert not RemoteFetch.objects.exists()
    # Nothing was cached, so the next client asks upstream again, and is refused again.
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{remote}/bad.bin", timeout=60)
    assert upstream.asked("/files/bad.bin") == 2
    assert not Artifact.objects.filter(path="bad.bin").exists()


def test_a_small_file_that_fails_verification_is_a_502_in_the_apis_format(remote, upstream):
    """A file within the first chunk fails before any byte is sent: the client gets a 502 it
    can read, not a broken transfer or the web server's page; nothing is cached."""
    upstream.files["/files/small-bad.bin"] = b"not what was published"
    upstream.headers["/files/small-bad.bin"] = {"X-Checksum-Sha256": hashlib.sha256(b"other").hexdigest()}
    for attempt in (1, 2):
        response = requests.get(f"{remote}/small-bad.bin", timeout=60)
        assert response.status_code == 502, response.text
        assert "failed verification" in response.json()["errors"][0]["message"]
        assert upstream.asked("/files/small-bad.bin") == attempt
    assert not Artifact.objects.filter(path="small-bad.bin").exists()
    assert not RemoteFetch.objects.exists()
