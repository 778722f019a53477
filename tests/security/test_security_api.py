"""/api/security/users|groups, /api/v2/security/permissions and access tokens over HTTP, and
what they change for real clients of the raw artifact API."""

import pytest
import requests

from apps.security.models import AccessToken
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errors"][0]["status"] == status
    return body["errors"][0]["message"]


def test_users_lifecycle(server, admin_http):
    base = f"{server.url}/api/security/users"
    created = admin_http.put(f"{base}/alice", json={"email": "alice@example.com", "password": "Alice-pass-1",
                                                    "groups": ["devs"]})
    assert created.status_code == 201, created.text
    shown = admin_http.get(f"{base}/alice")
    assert shown.status_code == 200
    body = shown.json()
    assert body["name"] == "alice" and body["email"] == "alice@example.com"
    assert body["admin"] is False and body["groups"] == ["devs"] and body["realm"] == "internal"
    assert "password" not in body and "Alice-pass-1" not in shown.text
    assert {"name": "alice", "uri": f"{base}/alice", "realm": "internal"} in admin_http.get(base).json()

    assert requests.get(f"{server.url}/api/system/ping", auth=("alice", "Alice-pass-1")).status_code == 200
    assert admin_http.post(f"{base}/alice", json={"email": "a@example.org", "groups": []}).status_code == 200
    assert admin_http.get(f"{base}/alice").json()["groups"] == []
    assert admin_http.delete(f"{base}/alice").status_code == 200
    error_of(admin_http.get(f"{base}/alice"), 404)
    error_of(requests.get(f"{server.url}/api/repositories", auth=("alice", "Alice-pass-1")), 401)


def test_user_input_errors(server, admin_http):
    base = f"{server.url}/api/security/users"
    assert "password" in error_of(admin_http.put(f"{base}/nopass", json={"email": "x@example.com"}), 400)
    error_of(admin_http.put(f"{base}/bad", json={"password": "Pass-word-1", "groups": "devs"}), 400)
    error_of(admin_http.put(f"{base}/bad", json=["not", "an", "object"]), 400)
    error_of(admin_http.post(f"{base}/ghost", json={"email": "g@example.com"}), 404)


def test_groups_lifecycle(server, admin_http):
    make_user("bob")
    make_user("carol")
    base = f"{server.url}/api/security/groups"
    assert admin_http.put(f"{base}/qa", json={"description": "QA", "userNames": ["bob", "carol"]}).status_code == 201
    group = admin_http.get(f"{base}/qa").json()
    assert group["name"] == "qa" and group["userNames"] == ["bob", "carol"]
    assert admin_http.get(f"{server.url}/api/security/users/bob").json()["groups"] == ["qa"]
    assert admin_http.post(f"{base}/qa", json={"userNames": ["carol"]}).status_code == 200
    assert admin_http.get(f"{base}/qa").json()["userNames"] == ["carol"]
    assert "ghost" in error_of(admin_http.put(f"{base}/qa", json={"userNames": ["ghost"]}), 400)
    assert {"name": "qa", "uri": f"{base}/qa"} in admin_http.get(base).json()
    assert admin_http.delete(f"{base}/qa").status_code == 200
    error_of(admin_http.delete(f"{base}/qa"), 404)


def test_permission_target_grants_write_as_deploy(server, admin_http):
    make_user("dev")
    make_user("tester")
    admin_http.put(f"{server.url}/api/security/groups/testers", json={"userNames": ["tester"]})
    base = f"{server.url}/api/v2/security/permissions"
    target = {"name": "builds", "repo": {
        "include-patterns": ["builds/**"], "exclude-patterns": ["builds/secret/**"],
        "repositories": ["generic-local"],
        "actions": {"users": {"dev": ["read", "write"]}, "groups": {"testers": ["read", "annotate"]}}}}
    assert admin_http.put(f"{base}/builds", json=target).status_code == 201
    shown = admin_http.get(f"{base}/builds").json()
    assert shown["repo"]["actions"]["users"] == {"dev": ["read", "write"]}
    assert shown["repo"]["actions"]["groups"] == {"testers": ["annotate", "read"]}
    assert shown["repo"]["include-patterns"] == ["builds/**"]
    assert shown["repo"]["exclude-patterns"] == ["builds/secret/**"]
    assert shown["repo"]["repositories"] == ["generic-local"]
    assert {"name": "builds", "uri": f"{base}/builds"} in admin_http.get(base).json()

    dev, tester = ("dev", "secret-pass"), ("tester", "secret-pass")
    assert requests.put(f"{server.url}/generic-local/builds/1/app.bin", data=b"a", auth=dev).status_code == 201
    error_of(requests.put(f"{server.url}/generic-local/other/app.bin", data=b"a", auth=dev), 403)
    error_of(requests.put(f"{server.url}/generic-local/builds/secret/k", data=b"a", auth=dev), 403)
    error_of(requests.put(f"{server.url}/generic-local/builds/2/app.bin", data=b"a", auth=tester), 403)
    annotated = requests.put(f"{server.url}/api/storage/generic-local/builds/1/app.bin?properties=qa=ok",
                             auth=tester)
    assert annotated.status_code == 204
    error_of(requests.put(f"{server.url}/api/storage/generic-local/builds/1/app.bin?properties=qa=no",
                          auth=dev), 403)

    # Replacing the target replaces the grants; deleting it takes them away.
    target["repo"]["actions"] = {"users": {"dev": ["read"]}}
    assert admin_http.put(f"{base}/builds", json=target).status_code == 200
    error_of(requests.put(f"{server.url}/generic-local/builds/3/app.bin", data=b"a", auth=dev), 403)
    assert admin_http.delete(f"{base}/builds").status_code == 200
    error_of(admin_http.get(f"{base}/builds"), 404)


@pytest.mark.parametrize("repo,fragment", [
    ({"repositories": ["no-such-repo"], "actions": {"users": {"admin": ["read"]}}}, "no-such-repo"),
    ({"repositories": ["generic-local"], "actions": {"users": {"ghost": ["read"]}}}, "ghost"),
    ({"repositories": ["generic-local"], "actions": {"users": {"admin": ["fly"]}}}, "fly"),
    ({"repositories": ["generic-local"], "actions": {"users": {"admin": "read"}}}, "lists"),
])
def test_invalid_permission_targets_are_400(server, admin_http, repo, fragment):
    response = admin_http.put(f"{server.url}/api/v2/security/permissions/broken", json={"repo": repo})
    assert fragment in error_of(response, 400)
    error_of(admin_http.get(f"{server.url}/api/v2/security/permissions/broken"), 404)


def test_access_tokens(server, http):
    make_user("ci")
    ci = ("ci", "secret-pass")
    made = requests.post(f"{server.url}/api/security/token", data={"description": "jenkins"}, auth=ci)
    assert made.status_code == 200, made.text
    token = made.json()
    secret, token_id = token["access_token"], token["token_id"]
    assert token["token_type"] == "Bearer"

    stored = AccessToken.objects.get(token_id=token_id)
    assert stored.digest != secret and secret not in stored.digest
    listed = requests.get(f"{server.url}/api/security/token", auth=ci)
    assert [t["token_id"] for t in listed.json()["tokens"]] == [token_id]
    assert secret not in listed.text

    admin_http = requests.Session()
    admin_http.auth = ("admin", "password")
    admin_http.put(f"{server.url}/api/v2/security/permissions/ci", json={"repo": {
        "repositories": ["generic-local"], "actions": {"users": {"ci": ["read", "write"]}}}})
    bearer = {"Authorization": f"Bearer {secret}"}
    assert http.put(f"{server.url}/generic-local/ci/a.bin", data=b"a", headers=bearer).status_code == 201
    assert requests.put(f"{server.url}/generic-local/ci/b.bin", data=b"b", auth=("ci", secret)).status_code == 201
    assert requests.put(f"{server.url}/generic-local/ci/c.bin", data=b"c", auth=("__token__", secret)).status_code == 201
    error_of(requests.get(f"{server.url}/api/repositories", auth=("someone-else", secret)), 401)

    other = make_user("other")
    assert other
    error_of(requests.post(f"{server.url}/api/security/token/revoke", data={"token_id": token_id},
                           auth=("other", "secret-pass")), 404)
    revoked = requests.post(f"{server.url}/api/security/token/revoke", data={"token_id": token_id}, auth=ci)
    assert revoked.status_code == 200
    refused = http.put(f"{server.url}/generic-local/ci/d.bin", data=b"d", headers=bearer)
    error_of(refused, 401)
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="repomgr"'
    error_of(requests.get(f"{server.url}/generic-local/ci/a.bin", auth=("ci", secret)), 401)
    assert requests.get(f"{server.url}/api/security/token", auth=ci).json()["tokens"] == []


def test_security_api_is_admin_only(server, http):
    make_user("plain")
    plain = ("plain", "secret-pass")
    for path in ("/api/security/users", "/api/security/users/admin", "/api/security/groups",
                 "/api/v2/security/permissions", "/api/v2/security/permissions/Anything"):
        anonymous = http.get(server.url + path)
        error_of(anonymous, 401)
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="repomgr"'
        error_of(requests.get(server.url + path, auth=plain), 403)
    error_of(requests.put(f"{server.url}/api/security/users/plain", json={"admin": True}, auth=plain), 403)
    error_of(http.post(f"{server.url}/api/security/token", data={}), 401)
    error_of(requests.get(f"{server.url}/api/security/users", auth=("plain", "wrong")), 401)


def test_any_local_and_any_remote_targets(server, admin_http):
    make_user("builder")
    base = f"{server.url}/api/v2/security/permissions"
    target = {"repo": {"repositories": ["ANY LOCAL"], "actions": {"users": {"builder": ["read", "write"]}}}}
    assert admin_http.put(f"{base}/locals", json=target).status_code == 201
    assert admin_http.get(f"{base}/locals").json()["repo"]["repositories"] == ["ANY LOCAL"]
    builder = ("builder", "secret-pass")
    admin_http.put(f"{server.url}/api/repositories/made-later", json={"rclass": "local"})
    assert requests.put(f"{server.url}/made-later/x.bin", data=b"x", auth=builder).status_code == 201

    target["repo"]["repositories"] = ["ANY REMOTE"]
    assert admin_http.put(f"{base}/locals", json=target).status_code == 200
    error_of(requests.put(f"{server.url}/made-later/y.bin", data=b"y", auth=builder), 403)
