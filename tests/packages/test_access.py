"""Every rule of the raw artifact and storage APIs for an anonymous user, a reader and a
deployer, over HTTP against a live server: 401 with a challenge when not logged in, 403 when
logged in but not allowed, and nothing stored by a refused request."""

import hashlib

import pytest
import requests

from apps.packages.models import Artifact, Blob
from apps.security.models import SecuritySettings
from tests.factories import grant, make_repository, make_user

pytestmark = pytest.mark.django_db(transaction=True)

ANONYMOUS, READER, DEPLOYER = None, ("reader", "secret-pass"), ("deployer", "secret-pass")
CALLERS = {"anonymous": ANONYMOUS, "reader": READER, "deployer": DEPLOYER}


@pytest.fixture
def people(server, admin_http):
    make_user("reader")
    make_user("deployer")
    grant("generic-readers", repositories=["generic-local"], users={"reader": ["read"]})
    grant("generic-deployers", repositories=["generic-local"], users={"deployer": ["read", "deploy"]})
    assert admin_http.put(f"{server.url}/generic-local/app/existing.bin", data=b"existing").status_code == 201
    return server


def call(method: str, url: str, who, **kwargs) -> requests.Response:
    return requests.request(method, url, auth=who, allow_redirects=False, timeout=30, **kwargs)


def assert_refused(response, who) -> None:
    """401 with a Basic challenge for anonymous callers, 403 for authenticated ones."""
    expected = 401 if who is ANONYMOUS else 403
    assert response.status_code == expected, response.text
    assert response.json()["errors"][0]["status"] == expected
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == 'Basic realm="repomgr"'


@pytest.mark.parametrize("name", CALLERS)
def test_everyone_may_read_with_anonymous_read_on(people, name):
    who, url = CALLERS[name], f"{people.url}/generic-local/app/existing.bin"
    got = call("GET", url, who)
    assert got.status_code == 200 and got.content == b"existing"
    assert call("HEAD", url, who).status_code == 200
    assert call("GET", f"{people.url}/api/storage/generic-local/app/existing.bin", who).json()["size"] == "8"
    assert call("GET", f"{people.url}/generic-local/app/", who).status_code == 200
    assert call("GET", f"{people.url}/generic-local/app/missing.bin", who).status_code == 404


@pytest.mark.parametrize("name", CALLERS)
def test_deploy(people, name):
    who, url = CALLERS[name], f"{people.url}/generic-local/app/new.bin"
    response = call("PUT", url, who, data=b"new content")
    if who is DEPLOYER:
        assert response.status_code == 201 and response.json()["createdBy"] == "deployer"
        assert Artifact.objects.get(path="app/new.bin").created_by == "deployer"
    else:
        assert_refused(response, who)
        assert not Artifact.objects.filter(path="app/new.bin").exists()
        assert not Blob.objects.filter(sha256=hashlib.sha256(b"new content").hexdigest()).exists()


@pytest.mark.parametrize("name", CALLERS)
def test_checksum_deploy(people, name):
    who, url = CALLERS[name], f"{people.url}/generic-local/app/by-sum.bin"
    headers = {"X-Checksum-Deploy": "true", "X-Checksum-Sha256": hashlib.sha256(b"existing").hexdigest()}
    response = call("PUT", url, who, headers=headers)
    if who is DEPLOYER:
        assert response.status_code == 201
    else:
        assert_refused(response, who)
        assert not Artifact.objects.filter(path="app/by-sum.bin").exists()


@pytest.mark.parametrize("name", CALLERS)
def test_overwrite_and_delete_need_delete_permission(people, name):
    who, url = CALLERS[name], f"{people.url}/generic-local/app/existing.bin"
    overwrite = call("PUT", url, who, data=b"changed")
    if who is DEPLOYER:
        assert overwrite.status_code == 409  # deploy alone never replaces different content
        assert call("PUT", url, who, data=b"existing").status_code == 201  # the same bytes again
    else:
        assert_refused(overwrite, who)
    assert_refused(call("DELETE", url, who), who)
    assert requests.get(url).content == b"existing"


@pytest.mark.parametrize("name", CALLERS)
def test_annotate_needs_annotate_permission(people, name):
    who = CALLERS[name]
    url = f"{people.url}/api/storage/generic-local/app/existing.bin"
    assert_refused(call("PUT", url, who, params={"properties": "qa=passed"}), who)
    assert_refused(call("DELETE", url, who, params={"properties": "qa"}), who)
    assert not Artifact.objects.get(path="app/existing.bin").properties.exists()


@pytest.mark.parametrize("name", CALLERS)
def test_anonymous_read_off(people, name):
    SecuritySettings.objects.update_or_create(pk=1, defaults={"anonymous_access": False})
    who, url = CALLERS[name], f"{people.url}/generic-local/app/existing.bin"
    response = call("GET", url, who)
    if who is ANONYMOUS:
        assert_refused(response, who)
        assert_refused(call("GET", f"{people.url}/api/storage/generic-local/app", who), who)
        assert_refused(call("GET", f"{people.url}/generic-local/app/missing.bin", who), who)
    else:
        assert response.status_code == 200 and response.content == b"existing"


@pytest.mark.parametrize("name", ["reader", "deployer"])
def test_users_see_only_what_they_were_granted(people, admin_http, name):
    # Anonymous read covers every local repository; a user's own grants replace it.
    make_repository("team-local")
    admin_http.put(f"{people.url}/team-local/t.bin", data=b"team")
    who = CALLERS[name]
    assert_refused(call("GET", f"{people.url}/team-local/t.bin", who), who)
    assert_refused(call("GET", f"{people.url}/team-local/missing.bin", who), who)
    assert_refused(call("PUT", f"{people.url}/team-local/u.bin", who, data=b"u"), who)
    assert call("GET", f"{people.url}/team-local/t.bin", ANONYMOUS).status_code == 200


def test_listings_show_only_readable_paths(people, admin_http):
    make_user("partial")
    grant("public-only", repositories=["generic-local"], users={"partial": ["read"]},
          include=["public/**"])
    for path in ("public/a.txt", "private/b.txt"):
        admin_http.put(f"{people.url}/generic-local/{path}", data=path.encode())
    partial = ("partial", "secret-pass")
    listed = call("GET", f"{people.url}/api/storage/generic-local", partial, params={"list": "", "deep": "1"})
    assert [f["uri"] for f in listed.json()["files"]] == ["/public/a.txt"]
    children = call("GET", f"{people.url}/api/storage/generic-local", partial).json()["children"]
    assert children == [{"uri": "/public", "folder": True}]
    assert call("GET", f"{people.url}/generic-local/public/a.txt", partial).status_code == 200
    assert call("GET", f"{people.url}/generic-local/private/b.txt", partial).status_code == 404


def test_delete_permission_allows_overwrite_and_delete(people):
    make_user("cleaner")
    grant("cleaners", repositories=["generic-local"], users={"cleaner": ["read", "deploy", "delete"]})
    cleaner, url = ("cleaner", "secret-pass"), f"{people.url}/generic-local/app/existing.bin"
    assert call("PUT", url, cleaner, data=b"replaced").status_code == 201
    assert requests.get(url).content == b"replaced"
    assert call("DELETE", url, cleaner).status_code == 204
    assert requests.get(url).status_code == 404


def test_a_folder_is_deleted_or_annotated_only_when_each_file_in_it_may_be(people, admin_http):
    """A permission target that excludes some files of a folder: the folder can be neither
    deleted nor annotated as a whole (403, nothing changed); the files it admits can."""
    make_user("pruner")
    grant("pruners", repositories=["generic-local"], exclude=["**/*.keep"],
          users={"pruner": ["read", "annotate", "delete"]})
    for name in ("a.bin", "b.keep"):
        assert admin_http.put(f"{people.url}/generic-local/mixed/{name}", data=b"x").status_code == 201
    pruner = ("pruner", "secret-pass")
    folder = f"{people.url}/api/storage/generic-local/mixed"
    assert call("PUT", folder, pruner, params={"properties": "qa=passed"}).status_code == 403
    assert call("DELETE", f"{people.url}/generic-local/mixed", pruner).status_code == 403
    assert sorted(Artifact.objects.filter(path__startswith="mixed/").values_list("path", flat=True)) == \
        ["mixed/a.bin", "mixed/b.keep"]
    assert not Artifact.objects.filter(path__startswith="mixed/", properties__isnull=False).exists()
    assert call("PUT", f"{folder}/a.bin", pruner, params={"properties": "qa=passed"}).status_code == 204
    assert call("DELETE", f"{people.url}/generic-local/mixed/a.bin", pruner).status_code == 204
    assert list(Artifact.objects.filter(path__startswith="mixed/").values_list("path", flat=True)) == \
        ["mixed/b.keep"]
    # A folder whose files the target all admits is annotated and deleted as a whole.
    assert admin_http.put(f"{people.url}/generic-local/clean/x.bin", data=b"x").status_code == 201
    clean = f"{people.url}/api/storage/generic-local/clean"
    assert call("PUT", clean, pruner, params={"properties": "qa=passed"}).status_code == 204
    assert call("DELETE", f"{people.url}/generic-local/clean", pruner).status_code == 204
    assert not Artifact.objects.filter(path__startswith="clean/").exists()
