"""The simple API, files, PEP 658 metadata and the JSON API of a local repository, checked
field by field over HTTP against a live server."""

import gzip
import hashlib
import re
import zipfile
from urllib.parse import urljoin

import pytest

from apps.pypi.negotiation import HTML_V1, JSON_V1
from tests.factories.pypi import make_sdist, make_wheel
from tests.pypi.clients import post_upload

pytestmark = pytest.mark.django_db(transaction=True)
JSON_ACCEPT = {"Accept": JSON_V1}


@pytest.fixture
def uploaded(server, tmp_path):
    """Two releases of 'Demo.Pkg' (wheel + sdist) in pypi-local."""
    url = f"{server.url}/api/pypi/pypi-local/"
    files = [make_wheel(tmp_path, "Demo.Pkg", "1.0", requires_python=">=3.8"),
             make_sdist(tmp_path, "Demo.Pkg", "1.0"),
             make_wheel(tmp_path, "Demo.Pkg", "2.0rc1", requires_python=">=3.10")]
    for path in files:
        response = post_upload(url, path)
        assert response.status_code == 200, response.text
    return {path.name: path for path in files}


def simple(server, project="demo-pkg"):
    return f"{server.url}/api/pypi/pypi-local/simple/{project}/"


def test_json_page_has_every_pep_field(server, http, uploaded):
    response = http.get(simple(server), headers=JSON_ACCEPT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_V1
    assert "Accept" in response.headers["Vary"]
    page = response.json()
    assert page["meta"]["api-version"] == "1.1"
    assert page["name"] == "demo-pkg"
    assert page["versions"] == ["1.0", "2.0rc1"]
    by_name = {f["filename"]: f for f in page["files"]}
    assert set(by_name) == set(uploaded)
    wheel = by_name["demo_pkg-1.0-py3-none-any.whl"]
    data = uploaded[wheel["filename"]].read_bytes()
    assert wheel["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
    assert wheel["size"] == len(data)
    assert wheel["requires-python"] == ">=3.8"
    assert wheel["yanked"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", wheel["upload-time"])
    with zipfile.ZipFile(uploaded[wheel["filename"]]) as archive:
        metadata = archive.read("demo_pkg-1.0.dist-info/METADATA")
    assert wheel["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    assert by_name["demo_pkg-1.0.tar.gz"]["core-metadata"] is False

    file_url = response.url + wheel["url"]
    assert http.get(file_url).content == data
    served = http.get(file_url + ".metadata")
    assert served.status_code == 200 and served.content == metadata
    assert int(response.headers["X-PyPI-Last-Serial"]) == page["meta"]["_last-serial"] >= 3


def test_html_page_and_negotiation(server, http, uploaded):
    html = http.get(simple(server))
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    body = html.text
    assert '<meta name="pypi:repository-version" content="1.1">' in body
    wheel = uploaded["demo_pkg-1.0-py3-none-any.whl"].read_bytes()
    anchor = re.search(r'<a href="([^"]+)"([^>]*)>demo_pkg-1.0-py3-none-any.whl</a>', body)
    href, attrs = anchor.groups()
    assert href.endswith("#sha256=" + hashlib.sha256(wheel).hexdigest())
    assert 'data-requires-python="&gt;=3.8"' in attrs
    assert 'data-core-metadata="sha256=' in attrs and 'data-dist-info-metadata="sha256=' in attrs

    assert http.get(simple(server), headers={"Accept": HTML_V1}).headers["Content-Type"] == HTML_V1
    pip_style = f"{JSON_V1}, {HTML_V1}; q=0.1, text/html; q=0.01"
    assert http.get(simple(server), headers={"Accept": pip_style}).headers["Content-Type"] == JSON_V1
    assert http.get(simple(server), params={"format": JSON_V1}).headers["Content-Type"] == JSON_V1
    # An unencoded '+' arrives as a space; it is still understood.
    assert http.get(simple(server) + f"?format={JSON_V1}").headers["Content-Type"] == JSON_V1
    refused = http.get(simple(server), headers={"Accept": "application/json"})
    assert refused.status_code == 406 and JSON_V1 in refused.text


def test_redirect_to_normalised_name_and_project_list(server, http, uploaded):
    for spelling in ("Demo.Pkg", "demo_pkg", "DEMO-pkg"):
        response = http.get(simple(server, spelling), allow_redirects=False)
        assert response.status_code == 301
        assert response.headers["Location"].endswith("/api/pypi/pypi-local/simple/demo-pkg/")
    no_slash = http.get(simple(server).rstrip("/"), allow_redirects=False)
    assert no_slash.status_code == 301
    root = http.get(f"{server.url}/api/pypi/pypi-local/simple", allow_redirects=False)
    assert root.status_code == 301 and root.headers["Location"].endswith("/api/pypi/pypi-local/simple/")
    listing = http.get(f"{server.url}/api/pypi/pypi-local/simple/", headers=JSON_ACCEPT).json()
    assert listing["projects"] == [{"name": "demo-pkg"}]
    assert 'href="demo-pkg/"' in http.get(f"{server.url}/api/pypi/pypi-local/simple/").text
    assert http.get(simple(server, "nothing-here")).status_code == 404


def test_etag_304_and_serial_moves_on_change(server, http, admin_http, uploaded):
    first = http.get(simple(server), headers=JSON_ACCEPT)
    etag = first.headers["ETag"]
    again = http.get(simple(server), headers={**JSON_ACCEPT, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    html_etag = http.get(simple(server)).headers["ETag"]
    assert html_etag != etag

    # pip and uv (and requests) accept gzip: the same page, compressed, under its own ETag.
    compressed = http.get(simple(server), headers={**JSON_ACCEPT, "Accept-Encoding": "gzip"}, stream=True)
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.raw.read()) == first.content
    plain = http.get(simple(server), headers={**JSON_ACCEPT, "Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.content == first.content
    refused = http.get(simple(server), headers={**JSON_ACCEPT, "Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.content == first.content
    assert plain.headers["ETag"] != compressed.headers["ETag"]

    yank = admin_http.patch(f"{server.url}/api/pypi/pypi-local/pypi/demo-pkg/1.0",
                            json={"yanked": True, "yanked_reason": "broken build"})
    assert yank.status_code == 200 and yank.json()["files"] == 2
    changed = http.get(simple(server), headers={**JSON_ACCEPT, "If-None-Match": etag})
    assert changed.status_code == 200
    assert int(changed.headers["X-PyPI-Last-Serial"]) > int(first.headers["X-PyPI-Last-Serial"])
    yanked = {f["filename"]: f["yanked"] for f in changed.json()["files"]}
    assert yanked["demo_pkg-1.0-py3-none-any.whl"] == "broken build"
    assert yanked["demo_pkg-2.0rc1-py3-none-any.whl"] is False
    assert 'data-yanked="broken build"' in http.get(simple(server)).text

    unyank = admin_http.patch(f"{server.url}/api/pypi/pypi-local/pypi/demo-pkg/1.0", json={"yanked": False})
    assert unyank.status_code == 200
    assert all(f["yanked"] is False for f in http.get(simple(server), headers=JSON_ACCEPT).json()["files"])


def test_ranges_on_files(server, http, uploaded):
    data = uploaded["demo_pkg-1.0-py3-none-any.whl"].read_bytes()
    url = f"{server.url}/api/pypi/pypi-local/packages/demo-pkg/demo_pkg-1.0-py3-none-any.whl"
    tail = http.get(url, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == data[-100:]
    assert tail.headers["Content-Range"] == f"bytes {len(data) - 100}-{len(data) - 1}/{len(data)}"
    assert http.head(url).headers["Accept-Ranges"] == "bytes"


def test_json_api(server, http, uploaded):
    project = http.get(f"{server.url}/api/pypi/pypi-local/pypi/Demo.Pkg/json")
    assert project.status_code == 200
    doc = project.json()
    assert doc["info"]["name"] == "Demo.Pkg" and doc["info"]["version"] == "1.0"
    assert doc["info"]["requires_python"] == ">=3.8" and doc["info"]["summary"]
    assert set(doc["releases"]) == {"1.0", "2.0rc1"}
    urls = {f["filename"]: f for f in doc["urls"]}
    assert set(urls) == {"demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"}
    sdist = urls["demo_pkg-1.0.tar.gz"]
    assert sdist["packagetype"] == "sdist" and sdist["python_version"] == "source"
    assert sdist["digests"]["sha256"] == hashlib.sha256(uploaded[sdist["filename"]].read_bytes()).hexdigest()
    assert http.get(sdist["url"]).content == uploaded[sdist["filename"]].read_bytes()
    assert sdist["upload_time_iso_8601"].startswith(sdist["upload_time"])

    release = http.get(f"{server.url}/api/pypi/pypi-local/pypi/demo-pkg/2.0rc1/json").json()
    assert release["info"]["version"] == "2.0rc1" and "releases" not in release
    assert release["info"]["requires_python"] == ">=3.10"
    assert http.get(f"{server.url}/api/pypi/pypi-local/pypi/demo-pkg/9.9/json").status_code == 404
    assert http.get(f"{server.url}/api/pypi/pypi-local/pypi/nope/json").status_code == 404


def test_delete_release_and_file_need_delete_permission(server, http, admin_http, uploaded):
    base = f"{server.url}/api/pypi/pypi-local"
    assert http.delete(f"{base}/pypi/demo-pkg/2.0rc1").status_code == 401
    assert http.patch(f"{base}/pypi/demo-pkg/2.0rc1", json={"yanked": True}).status_code == 401
    assert admin_http.delete(f"{base}/pypi/demo-pkg/2.0rc1").status_code == 204
    assert admin_http.delete(f"{base}/packages/demo-pkg/demo_pkg-1.0.tar.gz").status_code == 204
    page = http.get(simple(server), headers=JSON_ACCEPT).json()
    assert [f["filename"] for f in page["files"]] == ["demo_pkg-1.0-py3-none-any.whl"]
    assert page["versions"] == ["1.0"]
    assert http.get(f"{base}/packages/demo-pkg/demo_pkg-1.0.tar.gz").status_code == 404
    assert admin_http.delete(f"{base}/pypi/demo-pkg/2.0rc1").status_code == 404


def test_artifactory_prefix_and_head(server, http, uploaded):
    prefixed = f"{server.url}/artifactory/api/pypi/pypi-local/simple/demo-pkg/"
    page = http.get(prefixed, headers=JSON_ACCEPT)
    assert page.status_code == 200
    wheel = next(f for f in page.json()["files"] if f["filename"].endswith("1.0-py3-none-any.whl"))
    file_url = urljoin(page.url, wheel["url"])
    assert file_url == f"{server.url}/artifactory/api/pypi/pypi-local/packages/demo-pkg/{wheel['filename']}"
    assert http.get(file_url).content == uploaded[wheel["filename"]].read_bytes()
    head = http.head(simple(server), headers=JSON_ACCEPT)
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"]


def test_a_delete_through_the_raw_api_updates_the_page(server, http, admin_http, uploaded):
    before = http.get(simple(server), headers=JSON_ACCEPT)
    assert admin_http.delete(f"{server.url}/pypi-local/demo-pkg/demo_pkg-1.0.tar.gz").status_code == 204
    after = http.get(simple(server), headers=JSON_ACCEPT)
    assert "demo_pkg-1.0.tar.gz" not in [f["filename"] for f in after.json()["files"]]
    assert int(after.headers["X-PyPI-Last-Serial"]) > int(before.headers["X-PyPI-Last-Serial"])


def test_json_api_of_an_sdist_only_release_reads_its_pkg_info(server, http, tmp_path):
    sdist = make_sdist(tmp_path, "only-sdist", "3.1", requires_python=">=3.9")
    assert post_upload(f"{server.url}/api/pypi/pypi-local/", sdist).status_code == 200
    info = http.get(f"{server.url}/api/pypi/pypi-local/pypi/only-sdist/json").json()["info"]
    assert info["name"] == "only-sdist" and info["version"] == "3.1"
    assert info["summary"] == "only-sdist for tests" and info["requires_python"] == ">=3.9"
