"""A remote PyPI repository caching an upstream index the test starts on 127.0.0.1: facts kept
exactly, files fetched once, and installs still working when the upstream is gone."""

import base64
import hashlib
import threading

import pytest
import requests

from apps.packages.models import Artifact
from apps.pypi.negotiation import JSON_V1
from apps.repositories.models import RemoteDocument, Repository
from apps.repositories.services import repository_update
from tests.factories import make_repository
from tests.livestack import LiveServer
from tests.factories.pypi import make_wheel
from tests.pypi.clients import installed_version, pip_install, uv_pip_install
from tests.pypi.upstream import StaticIndex

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
JSON_ACCEPT = {"Accept": JSON_V1}


@pytest.fixture
def upstream(tmp_path):
    index = StaticIndex(chunk_delay=0.02)
    index.add(make_wheel(tmp_path, "ext-lib", "1.0"), requires_python=">=3.7")
    index.add(make_wheel(tmp_path, "ext-lib", "1.1"), yanked="security hole",
              upload_time="2025-05-06T07:08:09.000001Z")
    index.add(make_wheel(tmp_path, "ext-lib", "1.2", filler=400_000))
    index.add(make_wheel(tmp_path, "ext-tool", "3.0", requires_dist=("ext-lib>=1.0",)), with_metadata=False)
    index.start()
    yield index
    index.stop()


@pytest.fixture
def remote(server, upstream):
    return make_repository("up-remote", "remote", "pypi", url=upstream.url)


def configure(repository, **fields):
    """Change settings as the REST API and the admin do (the repository's modified time moves)."""
    repository_update(Repository.objects.get(pk=repository.pk), **fields)


def page(server, repo, project):
    return requests.get(f"{server.url}/api/pypi/{repo}/simple/{project}/", headers=JSON_ACCEPT)


def test_upstream_facts_are_kept_and_only_urls_rewritten(server, upstream, remote):
    ours = page(server, "up-remote", "ext-lib")
    assert ours.status_code == 200
    theirs = {f["filename"]: f for f in upstream.projects["ext-lib"]}
    files = {f["filename"]: f for f in ours.json()["files"]}
    assert set(files) == set(theirs)
    for name, mine in files.items():
        for key in ("hashes", "requires-python", "yanked", "size", "upload-time", "core-metadata"):
            assert mine.get(key) == theirs[name].get(key), (name, key)
        assert mine["url"] == f"../../packages/ext-lib/{name}"
    assert ours.json()["versions"] == ["1.0", "1.1", "1.2"]
    assert 'data-yanked="security hole"' in requests.get(ours.url).text

    wheel = "ext_lib-1.0-py3-none-any.whl"
    metadata = requests.get(f"{ours.url}../../packages/ext-lib/{wheel}.metadata")
    assert metadata.status_code == 200 and metadata.content == upstream.metadata[wheel]
    # A wheel whose upstream offers no metadata: read from the wheel itself.
    tool = requests.get(f"{server.url}/api/pypi/up-remote/packages/ext-tool/ext_tool-3.0-py3-none-any.whl.metadata")
    assert tool.status_code == 200 and b"Requires-Dist: ext-lib>=1.0" in tool.content

    doc = requests.get(f"{server.url}/api/pypi/up-remote/pypi/ext-lib/json").json()
    assert doc["info"]["version"] == "1.2"
    assert doc["releases"]["1.1"][0]["yanked_reason"] == "security hole"


def test_install_then_upstream_stops_and_installs_still_work(server, upstream, remote, tmp_path):
    index = f"{server.url}/api/pypi/up-remote/simple/"
    pip_install(index, tmp_path / "one", "ext-tool")
    assert installed_version(tmp_path / "one", "ext_lib") == "1.2"
    cached = Artifact.objects.get(repository=remote, path="ext-lib/ext_lib-1.2-py3-none-any.whl")
    assert cached.remote_url == f"{upstream.url}/files/ext_lib-1.2-py3-none-any.whl"

    upstream.stop()
    hits = sum(upstream.hits.values())
    configure(remote, metadata_retrieval_cache_secs=0)  # every page must be asked for again
    pip_install(index, tmp_path / "two", "ext-tool")
    uv_pip_install(index, tmp_path / "three", "ext-tool")
    assert installed_version(tmp_path / "three", "ext_tool") == "3.0"
    assert requests.get(f"{server.url}/api/pypi/up-remote/pypi/ext-tool/json").status_code == 200
    # Nothing cached and nobody to ask: a gateway error, not an internal one.
    assert page(server, "up-remote", "never-seen").status_code == 502
    assert sum(upstream.hits.values()) == hits  # really nobody answered


@pytest.fixture
def second_node(server):
    """Another repomgr on the same database and data dir: a second node of one installation."""
    node = LiveServer(log_name="server-node2").start()
    yield node
    node.stop()


def test_concurrent_requests_for_one_uncached_file_fetch_it_once(server, second_node, upstream, remote):
    wheel = "ext_lib-1.2-py3-none-any.whl"
    path = f"/api/pypi/up-remote/packages/ext-lib/{wheel}"
    assert page(server, "up-remote", "ext-lib").status_code == 200
    results, barrier = [], threading.Barrier(12)

    def fetch(node):
        barrier.wait()
        results.append(requests.get(node.url + path, timeout=60).content)

    # Twelve clients at once, spread over two nodes with two worker processes each.
    threads = [threading.Thread(target=fetch, args=(node,)) for node in (server, second_node) * 6]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = upstream.blobs[wheel]
    assert len(results) == 12 and all(body == expected for body in results)
    assert upstream.hits[f"/files/{wheel}"] == 1
    assert Artifact.objects.get(repository=remote, path=f"ext-lib/{wheel}").blob.sha256 == \
        hashlib.sha256(expected).hexdigest()


def test_upstream_404_is_remembered_and_offline_serves_only_the_cache(server, upstream, remote):
    assert page(server, "up-remote", "missing").status_code == 404
    assert page(server, "up-remote", "missing").status_code == 404
    assert upstream.hits["/simple/missing/"] == 1
    assert RemoteDocument.objects.get(repository=remote, key="simple:missing").status == 404

    assert page(server, "up-remote", "ext-lib").status_code == 200
    configure(remote, offline=True, metadata_retrieval_cache_secs=0)
    before = sum(upstream.hits.values())
    assert page(server, "up-remote", "ext-lib").status_code == 200
    assert page(server, "up-remote", "ext-tool").status_code == 404
    assert sum(upstream.hits.values()) == before


def test_html_only_upstream_and_a_file_that_fails_verification(server, tmp_path):
    index = StaticIndex(html_only=True)
    index.add(make_wheel(tmp_path, "plain-lib", "1.0"), requires_python=">=3.9", yanked="old")
    (tmp_path / "bad").mkdir()
    index.add(make_wheel(tmp_path / "bad", "plain-lib", "2.0", filler=3_000_000), wrong_sha256=True)
    index.start()
    try:
        make_repository("html-remote", "remote", "pypi", url=index.url + "/simple/")
        files = {f["filename"]: f for f in page(server, "html-remote", "plain-lib").json()["files"]}
        one = files["plain_lib-1.0-py3-none-any.whl"]
        assert one["requires-python"] == ">=3.9" and one["yanked"] == "old"
        assert one["core-metadata"]["sha256"] == index.projects["plain-lib"][0]["core-metadata"]["sha256"]
        assert "upload-time" not in one  # an HTML upstream does not say; nothing is made up

        bad_url = f"{server.url}/api/pypi/html-remote/packages/plain-lib/plain_lib-2.0-py3-none-any.whl"
        # The bytes stream as they arrive, but the last of them only after verification: the
        # client sees a broken transfer, never a complete file that failed.
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(bad_url, timeout=30)
        assert not Artifact.objects.filter(path__endswith="plain_lib-2.0-py3-none-any.whl").exists()
    finally:
        index.stop()


def test_slow_upstream_does_not_hold_up_installs_of_cached_packages(server, upstream, remote, tmp_path):
    index = f"{server.url}/api/pypi/up-remote/simple/"
    pip_install(index, tmp_path / "one", "ext-tool")
    # Every cached page is now out of date, the upstream takes a minute to answer a page, and
    # the repository would wait that long for it; pip gives up after 10 s.
    configure(remote, metadata_retrieval_cache_secs=0, socket_timeout_secs=60)
    upstream.page_delay = 60
    pip_install(index, tmp_path / "two", "ext-tool", extra=("--timeout", "10", "--retries", "0"))
    assert installed_version(tmp_path / "two", "ext_lib") == "1.2"
    # Having found it failing, the repository leaves the upstream alone for a while.
    asked = sum(upstream.hits.values())
    uv_pip_install(index, tmp_path / "three", "ext-tool")
    assert sum(upstream.hits.values()) == asked


def test_upstream_credentials_never_reach_another_host(server, tmp_path):
    files = StaticIndex().start()
    index = StaticIndex()
    index.add(make_wheel(tmp_path, "cred-lib", "1.0"), file_host=files)
    index.start()
    try:
        make_repository("cred-remote", "remote", "pypi", url=index.url, username="mirror",
                        password="upstream-secret")
        pip_install(f"{server.url}/api/pypi/cred-remote/simple/", tmp_path / "t", "cred-lib")
        assert installed_version(tmp_path / "t", "cred_lib") == "1.0"
        expected = "Basic " + base64.b64encode(b"mirror:upstream-secret").decode()
        assert index.authorizations and {auth for _, auth in index.authorizations} == {expected}
        assert files.hits["/files/cred_lib-1.0-py3-none-any.whl"] == 1
        assert files.hits["/files/cred_lib-1.0-py3-none-any.whl.metadata"] == 1
        assert files.authorizations == []
    finally:
        index.stop()
        files.stop()
