"""/api/storage/<repo>/<path> over HTTP: file and folder info, lists, properties, statistics,
in Artifactory's JSON shapes and media types."""

import hashlib
import re

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def tree(server, admin_http):
    for path in ("lib/a.txt", "lib/sub/b.txt", "lib/sub/deeper/c.txt", "top.txt"):
        assert admin_http.put(f"{server.url}/generic-local/{path}", data=path.encode()).status_code == 201
    return f"{server.url}/api/storage/generic-local"


def test_file_info(tree, server, http):
    info = http.get(f"{tree}/lib/a.txt")
    assert info.headers["Content-Type"] == "application/vnd.org.jfrog.artifactory.storage.FileInfo+json"
    body = info.json()
    assert body["repo"] == "generic-local" and body["path"] == "/lib/a.txt"
    assert body["uri"] == f"{tree}/lib/a.txt"
    assert body["downloadUri"] == f"{server.url}/generic-local/lib/a.txt"
    assert body["size"] == "9" and body["mimeType"] == "text/plain"
    assert body["createdBy"] == "admin" and body["modifiedBy"] == "admin"
    assert body["checksums"] == {"sha1": hashlib.sha1(b"lib/a.txt").hexdigest(),
                                 "md5": hashlib.md5(b"lib/a.txt").hexdigest(),
                                 "sha256": hashlib.sha256(b"lib/a.txt").hexdigest()}
    assert body["originalChecksums"] == body["checksums"]
    assert body["remoteUrl"] is None
    for field in ("created", "lastModified", "lastUpdated"):
        assert TIMESTAMP.match(body[field]), body[field]


def test_folder_info(tree, http):
    info = http.get(f"{tree}/lib")
    assert info.headers["Content-Type"] == "application/vnd.org.jfrog.artifactory.storage.FolderInfo+json"
    body = info.json()
    assert body["repo"] == "generic-local" and body["path"] == "/lib" and body["uri"] == f"{tree}/lib"
    assert body["children"] == [{"uri": "/a.txt", "folder": False}, {"uri": "/sub", "folder": True}]
    root = http.get(tree).json()
    assert root["path"] == "/" and root["children"] == [{"uri": "/lib", "folder": True},
                                                        {"uri": "/top.txt", "folder": False}]
    missing = http.get(f"{tree}/nothing/here")
    assert missing.status_code == 404 and missing.json()["errors"][0]["status"] == 404


def test_file_lists(tree, http):
    deep = http.get(f"{tree}/lib", params={"list": "", "deep": "1"})
    assert deep.headers["Content-Type"] == "application/vnd.org.jfrog.artifactory.storage.FileList+json"
    files = deep.json()["files"]
    assert [f["uri"] for f in files] == ["/a.txt", "/sub/b.txt", "/sub/deeper/c.txt"]
    first = files[0]
    assert first["size"] == 9 and first["folder"] is False
    assert first["sha1"] == hashlib.sha1(b"lib/a.txt").hexdigest()
    assert first["sha2"] == hashlib.sha256(b"lib/a.txt").hexdigest()
    assert TIMESTAMP.match(first["lastModified"])

    shallow = http.get(f"{tree}/lib", params={"list": ""}).json()["files"]
    assert [f["uri"] for f in shallow] == ["/a.txt"]
    with_folders = http.get(f"{tree}/lib", params={"list": "", "listFolders": "1"}).json()["files"]
    assert [(f["uri"], f["folder"]) for f in with_folders] == [("/a.txt", False), ("/sub", True)]
    two_levels = http.get(f"{tree}/lib", params={"list": "", "deep": "1", "depth": "2"}).json()["files"]
    assert [f["uri"] for f in two_levels] == ["/a.txt", "/sub/b.txt"]
    # A depth that is no number of ASCII digits ('²' passes str.isdigit) is no limit, not a 500.
    odd = http.get(f"{tree}/lib", params={"list": "", "deep": "1", "depth": "\u00b2"})
    assert odd.status_code == 200 and len(odd.json()["files"]) == 3


def test_set_get_and_delete_properties(tree, admin_http, http):
    url = f"{tree}/lib/a.txt"
    assert admin_http.put(url, params={"properties": "qa=passed;tags=x,y;note=a\\,b"}).status_code == 204
    props = http.get(url, params={"properties": ""})
    assert props.headers["Content-Type"] == "application/vnd.org.jfrog.artifactory.storage.ItemProperties+json"
    assert props.json() == {"uri": url, "properties": {"note": ["a,b"], "qa": ["passed"], "tags": ["x", "y"]}}
    assert http.get(url, params={"properties": "qa"}).json()["properties"] == {"qa": ["passed"]}

    assert admin_http.put(url, params={"properties": "qa=failed"}).status_code == 204
    assert http.get(url, params={"properties": "qa"}).json()["properties"] == {"qa": ["failed"]}
    assert admin_http.delete(url, params={"properties": "qa,tags"}).status_code == 204
    assert http.get(url, params={"properties": ""}).json()["properties"] == {"note": ["a,b"]}
    assert http.get(url, params={"properties": "qa"}).status_code == 404


def test_properties_on_a_folder_apply_below_it(tree, admin_http, http):
    assert admin_http.put(f"{tree}/lib/sub", params={"properties": "release=1.0"}).status_code == 204
    for path in ("lib/sub/b.txt", "lib/sub/deeper/c.txt"):
        assert http.get(f"{tree}/{path}", params={"properties": ""}).json()["properties"] == {"release": ["1.0"]}
    assert http.get(f"{tree}/lib/a.txt", params={"properties": ""}).status_code == 404
    flat = admin_http.put(f"{tree}/lib/sub", params={"properties": "x=1", "recursive": "0"})
    assert flat.status_code == 404


def test_property_errors(tree, admin_http):
    for params in ({"properties": "=nokey"}, {"other": "1"}):
        bad = admin_http.put(f"{tree}/lib/a.txt", params=params)
        assert bad.status_code == 400 and bad.json()["errors"][0]["status"] == 400
    assert admin_http.delete(f"{tree}/lib/a.txt").status_code == 400
    assert admin_http.put(f"{tree}/lib/none.txt", params={"properties": "a=1"}).status_code == 404


def test_stats_and_last_modified(tree, server, http):
    for _ in range(3):
        http.get(f"{server.url}/generic-local/top.txt")
    stats = http.get(f"{tree}/top.txt", params={"stats": ""}).json()
    assert stats["downloadCount"] == 3 and stats["lastDownloaded"] > 0
    assert stats["uri"] == f"{tree}/top.txt"
    modified = http.get(f"{tree}/top.txt", params={"lastModified": ""}).json()
    assert TIMESTAMP.match(modified["lastModified"])
