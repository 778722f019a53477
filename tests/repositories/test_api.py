"""/api/repositories over HTTP against a live server, in Artifactory's JSON shapes."""

import io

import pytest
import requests
from django.core.management import call_command

from apps.packages.models import Artifact
from apps.repositories.models import Repository
from apps.security.models import SecuritySettings
from tests.conftest import CLOSED_UPSTREAM
from tests.factories import grant, make_repository, make_user

pytestmark = pytest.mark.django_db(transaction=True)

DEFAULT_KEYS = {"pypi-local", "pypi-remote", "pypi", "docker-local", "docker-remote", "docker",
                "generic-local"}


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["errors"][0]["status"] == status
    return body["errors"][0]["message"]


def test_list_in_artifactory_shape_and_filters(server, http):
    listed = http.get(f"{server.url}/api/repositories").json()
    assert {r["key"] for r in listed} == DEFAULT_KEYS
    local = next(r for r in listed if r["key"] == "generic-local")
    assert local == {"key": "generic-local", "type": "LOCAL", "description": "",
                     "url": f"{server.url}/generic-local", "packageType": "generic"}
    remote = next(r for r in listed if r["key"] == "pypi-remote")
    assert remote["type"] == "REMOTE" and remote["url"] == CLOSED_UPSTREAM

    virtuals = http.get(f"{server.url}/api/repositories", params={"type": "virtual"}).json()
    assert {r["key"] for r in virtuals} == {"pypi", "docker"}
    docker = http.get(f"{server.url}/api/repositories", params={"packageType": "docker"}).json()
    assert {r["key"] for r in docker} == {"docker-local", "docker-remote", "docker"}


def test_default_configurations(server, http):
    local = http.get(f"{server.url}/api/repositories/generic-local").json()
    assert local == {"key": "generic-local", "rclass": "local", "packageType": "generic",
                     "description": "", "notes": "", "includesPattern": "**/*", "excludesPattern": ""}
    virtual = http.get(f"{server.url}/api/repositories/pypi").json()
    assert virtual["rclass"] == "virtual"
    assert virtual["repositories"] == ["pypi-local", "pypi-remote"]
    assert virtual["defaultDeploymentRepo"] == "pypi-local"
    remote = http.get(f"{server.url}/api/repositories/docker-remote").json()
    assert remote["url"] == CLOSED_UPSTREAM and remote["offline"] is False
    assert {"retrievalCachePeriodSecs", "missedRetrievalCachePeriodSecs", "socketTimeoutMillis",
            "storeArtifactsLocally"} <= set(remote)


def test_bootstrap_points_the_default_remotes_at_the_public_upstreams(transactional_db):
    """What `make run` creates (the fixtures then point them at a closed local port)."""
    call_command("bootstrap", stdout=io.StringIO(), stderr=io.StringIO())
    urls = dict(Repository.objects.filter(rclass="remote").values_list("key", "url"))
    assert urls == {"pypi-remote": "https://pypi.org", "docker-remote": "https://registry-1.docker.io"}


def test_create_read_update_delete(server, admin_http):
    base = f"{server.url}/api/repositories"
    created = admin_http.put(f"{base}/team-local", json={
        "rclass": "local", "packageType": "generic", "description": "team builds",
        "includesPattern": "builds/**", "excludesPattern": "**/*.tmp"})
    assert created.status_code == 200, created.text
    assert created.text == "Successfully created repository 'team-local'"
    remote = admin_http.put(f"{base}/team-remote", json={
        "key": "team-remote", "rclass": "remote", "packageType": "generic",
        "url": "http://127.0.0.1:9/files", "username": "robot", "password": "upstream-secret",
        "retrievalCachePeriodSecs": 60, "missedRetrievalCachePeriodSecs": 5,
        "socketTimeoutMillis": 3000, "offline": True, "storeArtifactsLocally": True})
    assert remote.status_code == 200, remote.text
    virtual = admin_http.put(f"{base}/team", json={
        "rclass": "virtual", "packageType": "generic", "repositories": ["team-local", "team-remote"],
        "defaultDeploymentRepo": "team-local"})
    assert virtual.status_code == 200, virtual.text

    local = admin_http.get(f"{base}/team-local").json()
    assert local["includesPattern"] == "builds/**" and local["excludesPattern"] == "**/*.tmp"
    remote = admin_http.get(f"{base}/team-remote")
    assert remote.json()["username"] == "robot" and remote.json()["socketTimeoutMillis"] == 3000
    assert remote.json()["missedRetrievalCachePeriodSecs"] == 5 and remote.json()["offline"] is True
    assert "upstream-secret" not in remote.text and "password" not in remote.json()
    assert Repository.objects.get(key="team-remote").password == "upstream-secret"
    assert admin_http.get(f"{base}/team").json()["repositories"] == ["team-local", "team-remote"]

    updated = admin_http.post(f"{base}/team-local", json={"description": "renamed", "includesPattern": "**/*"})
    assert updated.status_code == 200 and updated.text == "Repository 'team-local' update successful"
    assert admin_http.get(f"{base}/team-local").json()["description"] == "renamed"
    reordered = admin_http.post(f"{base}/team", json={"repositories": ["team-remote", "team-local"]})
    assert reordered.status_code == 200
    assert admin_http.get(f"{base}/team").json()["repositories"] == ["team-remote", "team-local"]

    assert admin_http.put(f"{server.url}/team-local/f.txt", data=b"x").status_code == 201
    deleted = admin_http.delete(f"{base}/team-local")
    assert deleted.status_code == 200
    assert error_of(admin_http.get(f"{base}/team-local"), 404) == "Repository 'team-local' not found"
    assert not Artifact.objects.filter(path="f.txt").exists()
    assert admin_http.get(f"{base}/team").json()["repositories"] == ["team-remote"]


@pytest.mark.parametrize("key", ["api", "v2", "artifactory", "ui", "admin", "static", "metrics", "API"])
def test_reserved_keys_are_refused(server, admin_http, key):
    message = error_of(admin_http.put(f"{server.url}/api/repositories/{key}", json={"rclass": "local"}), 400)
    assert "reserved" in message
    assert not Repository.objects.filter(key=key).exists()


@pytest.mark.parametrize("key,body,fragment", [
    ("-bad", {"rclass": "local"}, "key"),
    ("x" * 70, {"rclass": "local"}, "key"),
    ("new", {}, "rclass"),
    ("new", {"rclass": "galactic"}, "rclass"),
    ("new", {"rclass": "local", "packageType": "cobol"}, "packageType"),
    ("new", {"rclass": "remote"}, "url"),
    ("new", {"rclass": "remote", "url": "not a url"}, "url"),
    ("new", {"rclass": "virtual", "repositories": ["nope"]}, "'nope' does not exist"),
    ("new", {"rclass": "virtual", "repositories": ["pypi-local"]}, "pypi repository"),
    ("new", {"rclass": "virtual", "repositories": ["generic-local"], "defaultDeploymentRepo": "pypi-local"},
     "defaultDeploymentRepo"),
    ("new", {"rclass": "local", "repositories": ["generic-local"]}, "only virtual"),
    ("new", {"rclass": "remote", "url": "http://127.0.0.1:9/", "socketTimeoutMillis": -1},
     "socketTimeoutMillis"),
    ("generic-local", {"rclass": "local"}, "already exists"),
])
def test_invalid_configurations_are_400_json(server, admin_http, key, body, fragment):
    before = Repository.objects.count()
    response = admin_http.put(f"{server.url}/api/repositories/{key}", json=body)
    assert fragment in error_of(response, 400)
    assert Repository.objects.count() == before


def test_malformed_bodies_and_forbidden_updates(server, admin_http):
    base = f"{server.url}/api/repositories"
    not_json = admin_http.put(f"{base}/new", data=b"{not json", headers={"Content-Type": "application/json"})
    error_of(not_json, 400)
    a_list = admin_http.put(f"{base}/new", json=["local"])
    assert "JSON object" in error_of(a_list, 400)
    assert "class" in error_of(admin_http.post(f"{base}/generic-local", json={"rclass": "remote"}), 400)
    assert "key" in error_of(admin_http.post(f"{base}/generic-local", json={"key": "other"}), 400)
    error_of(admin_http.post(f"{base}/no-such", json={"description": "x"}), 404)
    error_of(admin_http.delete(f"{base}/no-such"), 404)
    assert not Repository.objects.filter(key="new").exists()


def test_who_may_configure_repositories(server, http):
    make_user("reader")
    make_user("manager")
    make_repository("private-local")
    grant("readers", repositories=["generic-local"], users={"reader": ["read"]})
    grant("managers", repositories=["private-local"], users={"manager": ["read", "manage"]})
    SecuritySettings.objects.update_or_create(pk=1, defaults={"anonymous_access": False})
    base = f"{server.url}/api/repositories"
    reader, manager = ("reader", "secret-pass"), ("manager", "secret-pass")

    anonymous = http.put(f"{base}/anon-made", json={"rclass": "local"})
    error_of(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="repomgr"'
    error_of(http.get(f"{base}/generic-local"), 401)
    assert http.get(base).json() == []

    error_of(requests.put(f"{base}/reader-made", json={"rclass": "local"}, auth=reader), 403)
    assert requests.get(f"{base}/generic-local", auth=reader).status_code == 200
    error_of(requests.get(f"{base}/private-local", auth=reader), 403)
    assert [r["key"] for r in requests.get(base, auth=reader).json()] == ["generic-local"]
    error_of(requests.post(f"{base}/generic-local", json={"description": "x"}, auth=reader), 403)

    updated = requests.post(f"{base}/private-local", json={"description": "mine"}, auth=manager)
    assert updated.status_code == 200
    error_of(requests.delete(f"{base}/private-local", auth=manager), 403)
    error_of(requests.post(f"{base}/generic-local", json={"description": "x"}, auth=manager), 403)
    assert not Repository.objects.filter(key__in=["anon-made", "reader-made"]).exists()
    assert Repository.objects.get(key="generic-local").description == ""


def test_the_api_under_the_artifactory_prefix(server, admin_http):
    listed = admin_http.get(f"{server.url}/artifactory/api/repositories").json()
    assert {r["key"] for r in listed} == DEFAULT_KEYS
    local = next(r for r in listed if r["key"] == "generic-local")
    assert local["url"] == f"{server.url}/artifactory/generic-local"
    created = admin_http.put(f"{server.url}/artifactory/api/repositories/prefixed-local", json={"rclass": "local"})
    assert created.status_code == 200
    assert admin_http.get(f"{server.url}/artifactory/api/security/users/admin").json()["admin"] is True
