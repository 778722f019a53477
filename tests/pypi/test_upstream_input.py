"""What a remote repository makes of whatever its upstream index sends: a page that is not a
simple page is the upstream failing (502, or the next member of a virtual repository); a file
entry that is not one is left out; values of the wrong type never reach our pages."""

import json
import logging

import pytest
from django.test import Client

from apps.pypi.negotiation import JSON_V1
from tests.factories import make_repository
from tests.factories.pypi import make_wheel
from tests.pypi.upstream import StaticIndex

pytestmark = pytest.mark.django_db(transaction=True)


class RawIndex(StaticIndex):
    """A StaticIndex listing ``wheels`` that answers the paths in ``raw`` with the (body,
    content type) given."""

    def __init__(self, *wheels):
        super().__init__()
        self.raw: dict[str, tuple[bytes, str]] = {}
        for wheel in wheels:
            self.add(wheel)

    def _answer(self, handler):
        if handler.path in self.raw:
            return self._send(handler, 200, *self.raw[handler.path])
        return super()._answer(handler)


@pytest.fixture
def indexes(tmp_path):
    """Two upstreams listing the same wheel."""
    wheel = make_wheel(tmp_path, "proj", "1.0")
    started = [RawIndex(wheel).start(), RawIndex(wheel).start()]
    yield started
    for index in started:
        index.stop()


def _get(url, *, accept: str = JSON_V1):
    response = Client().get(url, HTTP_ACCEPT=accept)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    return response.status_code, body


def _json_page(files: list, name: str = "proj") -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()


UNREADABLE = [
    b"<!DOCTYPE html><html><body><form>Log in</form></body></html>",
    b"",
    b'{"meta": {"api-version": "1.1"}, "files": {"proj-1.0-py3-none-any.whl": {}}}',
    b'[{"filename": "proj-1.0-py3-none-any.whl"}]',
    b'{"meta": {"api-version": "1.1"}, "projects": {"proj": {}}}',
    # PEP 691 / PEP 629: a client of API version 1 cannot read a version 2 page.
    b'{"meta": {"api-version": "2.0"}, "projects": [{"name": "proj"}], "name": "proj", "files": []}',
    b'{"meta": {"api-version": 2}, "projects": [{"name": "proj"}], "name": "proj", "files": []}',
]
HTML_V2 = (b'<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="2.0"></head>'
           b'<body><a href="/files/proj-1.0-py3-none-any.whl">proj-1.0-py3-none-any.whl</a>'
           b'<a href="/simple/proj/">proj</a></body></html>')


@pytest.mark.parametrize("body", UNREADABLE + [HTML_V2], ids=[
    "login-page", "empty", "files-dict", "list", "no-files", "json-v2", "json-v2-number", "html-v2"])
def test_an_unreadable_page_is_the_upstream_failing(bootstrapped, indexes, body):
    broken, working = indexes
    broken.raw["/simple/proj/"] = broken.raw["/simple/"] = (body, "text/html" if body is HTML_V2 else JSON_V1)
    make_repository("broken-remote", "remote", "pypi", url=broken.url)
    make_repository("working-remote", "remote", "pypi", url=working.url)
    make_repository("both", "virtual", "pypi", members=["broken-remote", "working-remote"])

    assert _get("/api/pypi/broken-remote/simple/proj/")[0] == 502
    assert _get("/api/pypi/broken-remote/simple/")[0] == 502
    wheel = "packages/proj/proj-1.0-py3-none-any.whl"
    assert _get(f"/api/pypi/broken-remote/{wheel}")[0] == 502

    # A virtual repository passes over the member whose upstream sent it.
    status, page = _get("/api/pypi/both/simple/proj/")
    assert status == 200 and [f["filename"] for f in json.loads(page)["files"]] == [
        "proj-1.0-py3-none-any.whl"]
    status, listing = _get("/api/pypi/both/simple/")
    assert status == 200 and json.loads(listing)["projects"] == [{"name": "proj"}]
    assert _get(f"/api/pypi/both/{wheel}.metadata")[0] == 200
    assert _get(f"/api/pypi/both/{wheel}") == (200, working.blobs["proj-1.0-py3-none-any.whl"])
    assert broken.hits["/files/proj-1.0-py3-none-any.whl"] == 0


def test_an_unreadable_answer_leaves_the_cached_page_to_answer(bootstrapped, indexes):
    """Once the cached copy has expired, an upstream that answers with a login page does not
    replace it: the page we hold is served (stale), not a 502."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.pypi.models import PypiPage
    from apps.repositories.models import RemoteDocument

    upstream = indexes[0]
    make_repository("flaky-remote", "remote", "pypi", url=upstream.url)
    for url in ("/api/pypi/flaky-remote/simple/proj/", "/api/pypi/flaky-remote/simple/"):
        first = _get(url)
        assert first[0] == 200
        upstream.raw["/simple/proj/"] = upstream.raw["/simple/"] = (UNREADABLE[0], JSON_V1)
        cached = {d.key: bytes(d.body) for d in RemoteDocument.objects.all()}
        RemoteDocument.objects.update(fetched=timezone.now() - timedelta(days=1))
        PypiPage.objects.update(fresh_until=timezone.now() - timedelta(seconds=1))
        asked = dict(upstream.hits)
        again = _get(url)
        assert again[0] == 200
        assert {k: v for k, v in json.loads(again[1]).items() if k != "meta"} == \
            {k: v for k, v in json.loads(first[1]).items() if k != "meta"}
        assert sum(upstream.hits.values()) > sum(asked.values())  # the upstream was asked again
        assert {d.key: bytes(d.body) for d in RemoteDocument.objects.all()} == cached
        upstream.raw.clear()


def test_what_is_not_a_project_name_is_left_out_of_the_list(bootstrapped, indexes):
    projects = [{"name": 5}, "proj", {}, {"name": "-not-a-name-"}, {"name": "Good_Name"}]
    indexes[0].raw["/simple/"] = (json.dumps({"meta": {"api-version": "1.1"}, "projects": projects}).encode(),
                                  JSON_V1)
    make_repository("list-remote", "remote", "pypi", url=indexes[0].url)
    status, body = _get("/api/pypi/list-remote/simple/")
    assert status == 200 and json.loads(body)["projects"] == [{"name": "good-name"}]


def test_malformed_entries_are_left_out_and_wrong_values_dropped(bootstrapped, indexes, caplog):
    index = indexes[0]
    good = index.projects["proj"][0]
    wrong = {**good, "size": "big", "upload-time": 5, "yanked": 1, "requires-python": 3,
             "hashes": [good["hashes"]["sha256"]], "core-metadata": "true", "gpg-sig": "no"}
    odd = {**good, "filename": "proj-1.0.tar.gz", "size": -1, "upload-time": "last Tuesday",
           "yanked": "", "hashes": {"sha256": good["hashes"]["sha256"], "md5": 5},
           "core-metadata": {"sha256": 7}}
    malformed = [{"url": good["url"]}, {**good, "filename": 5}, {**good, "url": None}, "proj.whl", None,
                 {**good, "url": "http://[::1/proj.whl"}, {**good, "url": "http://127.0.0.1:99999/proj.whl"}]
    index.raw["/simple/proj/"] = (_json_page([wrong, odd, *malformed]), JSON_V1)
    make_repository("odd-remote", "remote", "pypi", url=index.url, username="mirror",
                    password="upstream-secret")

    with caplog.at_level(logging.WARNING, logger="apps.pypi.upstream"):
        status, body = _get("/api/pypi/odd-remote/simple/proj/")
    assert status == 200
    page = json.loads(body)
    files = {f["filename"]: f for f in page["files"]}
    assert set(files) == {"proj-1.0-py3-none-any.whl", "proj-1.0.tar.gz"}
    assert files["proj-1.0-py3-none-any.whl"] == {
        "filename": "proj-1.0-py3-none-any.whl", "url": "../../packages/proj/proj-1.0-py3-none-any.whl",
        "hashes": {}, "requires-python": None, "core-metadata": False, "yanked": False}
    sdist = files["proj-1.0.tar.gz"]
    assert sdist["hashes"] == {"sha256": good["hashes"]["sha256"]}
    assert sdist["yanked"] is True and sdist["core-metadata"] is False
    assert "size" not in sdist and "upload-time" not in sdist
    assert page["meta"]["api-version"] == "1.0"  # no size known for these files (PEP 700)
    assert _get("/api/pypi/odd-remote/simple/proj/", accept="text/html")[0] == 200
    assert f"left out {len(malformed)} malformed file entries of proj from 'odd-remote'" in caplog.text
    assert "upstream-secret" not in caplog.text


def test_upload_times_are_given_in_pep_700_form(bootstrapped, indexes):
    index = indexes[0]
    good = index.projects["proj"][0]
    times = {"proj-1.0-py3-none-any.whl": "2024-01-02T04:04:05+01:00",
             "proj-1.0-py2-none-any.whl": "2024-01-02T03:04:05.5",
             "proj-1.0.tar.gz": "2024-01-02T03:04:05.123456Z"}
    index.raw["/simple/proj/"] = (_json_page([{**good, "filename": name, "upload-time": time}
                                              for name, time in times.items()]), JSON_V1)
    make_repository("time-remote", "remote", "pypi", url=index.url)
    files = json.loads(_get("/api/pypi/time-remote/simple/proj/")[1])["files"]
    assert {f["filename"]: f["upload-time"] for f in files} == {
        "proj-1.0-py3-none-any.whl": "2024-01-02T03:04:05.000000Z",
        "proj-1.0-py2-none-any.whl": "2024-01-02T03:04:05.500000Z",
        "proj-1.0.tar.gz": "2024-01-02T03:04:05.123456Z"}


def test_metadata_of_a_file_whose_url_carries_its_hash(bootstrapped, tmp_path):
    index = RawIndex()
    wheel = "fragm-1.0-py3-none-any.whl"
    entry = index.add(make_wheel(tmp_path, "fragm", "1.0"))
    sha256 = entry.pop("hashes")["sha256"]
    entry.update({"url": f"/files/{wheel}#sha256={sha256}", "core-metadata": True})
    index.raw["/simple/fragm/"] = (_json_page([entry], "fragm"), JSON_V1)
    index.start()
    try:
        make_repository("fragm-remote", "remote", "pypi", url=index.url)
        files = json.loads(_get("/api/pypi/fragm-remote/simple/fragm/")[1])["files"]
        assert files[0]["hashes"] == {"sha256": sha256}  # the fragment's, as an HTML page gives it
        path = f"/api/pypi/fragm-remote/packages/fragm/{wheel}"
        assert _get(path + ".metadata") == (200, index.metadata[wheel])
        assert index.hits[f"/files/{wheel}.metadata"] == 1 and index.hits[f"/files/{wheel}"] == 0
        assert _get(path) == (200, index.blobs[wheel])  # verified against the fragment's hash
    finally:
        index.stop()


def test_a_page_says_api_1_1_only_when_it_knows_every_size(bootstrapped, tmp_path):
    wheel = make_wheel(tmp_path, "sized", "1.0")
    html, json_index = StaticIndex(html_only=True), StaticIndex()
    for index in (html, json_index):
        index.add(wheel)
        index.start()
    try:
        make_repository("html-remote", "remote", "pypi", url=html.url)
        make_repository("json-remote", "remote", "pypi", url=json_index.url)
        unsized = json.loads(_get("/api/pypi/html-remote/simple/sized/")[1])
        assert unsized["meta"]["api-version"] == "1.0" and "size" not in unsized["files"][0]
        assert unsized["versions"] == ["1.0"]
        sized = json.loads(_get("/api/pypi/json-remote/simple/sized/")[1])
        assert sized["meta"]["api-version"] == "1.1"
        assert sized["files"][0]["size"] == wheel.stat().st_size
    finally:
        html.stop()
        json_index.stop()


@pytest.mark.parametrize("meta", [{"api-version": "1.4"}, {}, None], ids=["1.4", "no-version", "no-meta"])
def test_pages_of_any_1_x_version_are_read(bootstrapped, indexes, meta):
    """A later minor version, or none at all, is still a version 1 page (PEP 691)."""
    upstream = indexes[0]
    good = upstream.projects["proj"][0]
    page = {"name": "proj", "files": [good]} | ({"meta": meta} if meta is not None else {})
    listing = {"projects": [{"name": "proj"}]} | ({"meta": meta} if meta is not None else {})
    upstream.raw["/simple/proj/"] = (json.dumps(page).encode(), JSON_V1)
    upstream.raw["/simple/"] = (json.dumps(listing).encode(), JSON_V1)
    make_repository("minor-remote", "remote", "pypi", url=upstream.url)
    status, body = _get("/api/pypi/minor-remote/simple/proj/")
    assert status == 200 and [f["filename"] for f in json.loads(body)["files"]] == ["proj-1.0-py3-none-any.whl"]
    status, body = _get("/api/pypi/minor-remote/simple/")
    assert status == 200 and json.loads(body)["projects"] == [{"name": "proj"}]
