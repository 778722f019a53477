"""Access tokens over real HTTP: create, use, list, revoke, expiry and scopes."""

import pytest
import requests

from apps.security.models import AccessToken
from tests.factories import grant, make_repository, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(server):
    user = make_user("alice", "alice-pass")
    make_repository("team-local")
    grant("alice-all", repositories=["generic-local", "team-local"],
          users={"alice": ["read", "deploy", "delete"]})
    return user


def create_token(server, auth, **fields) -> dict:
    answer = requests.post(f"{server.url}/api/security/token", auth=auth, data=fields)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_token_is_shown_once_stored_hashed_and_works_as_password_and_bearer(server, alice):
    created = create_token(server, ("alice", "alice-pass"), description="ci")
    secret = created["access_token"]
    assert secret.startswith("rmt_")
    stored = AccessToken.objects.get(token_id=created["token_id"])
    assert secret not in (stored.digest, stored.token_id)

    put = requests.put(f"{server.url}/generic-local/t/a.txt", data=b"a", auth=("alice", secret))
    assert put.status_code == 201, put.text
    got = requests.get(f"{server.url}/generic-local/t/a.txt", headers={"Authorization": f"Bearer {secret}"})
    assert got.status_code == 200 and got.content == b"a"

    listed = requests.get(f"{server.url}/api/security/token", auth=("alice", "alice-pass")).json()["tokens"]
    assert [t["token_id"] for t in listed] == [created["token_id"]]
    assert secret not in str(listed)
    assert secret not in server.log()


def test_users_see_and_revoke_only_their_own_tokens_admins_revoke_any(server, alice, admin_http):
    make_user("bob", "bob-pass")
    bob_token = create_token(server, ("bob", "bob-pass"))
    alice_token = create_token(server, ("alice", "alice-pass"))
    alice_sees = requests.get(f"{server.url}/api/security/token", auth=("alice", "alice-pass")).json()
    assert {t["subject"] for t in alice_sees["tokens"]} == {"alice"}

    refused = requests.delete(f"{server.url}/api/security/token/{bob_token['token_id']}",
                              auth=("alice", "alice-pass"))
    assert refused.status_code == 404
    assert AccessToken.objects.filter(token_id=bob_token["token_id"]).exists()

    revoked = admin_http.delete(f"{server.url}/api/security/token/{bob_token['token_id']}")
    assert revoked.status_code == 200
    assert requests.get(f"{server.url}/api/security/token",
                        auth=("bob", bob_token["access_token"])).status_code == 401

    own = requests.post(f"{server.url}/api/security/token/revoke", auth=("alice", "alice-pass"),
                        data={"token_id": alice_token["token_id"]})
    assert own.status_code == 200
    assert requests.get(f"{server.url}/generic-local/", auth=("alice", alice_token["access_token"])).status_code == 401


def test_expired_token_is_refused(server, alice):
    created = create_token(server, ("alice", "alice-pass"), expires_in=1)
    AccessToken.objects.filter(token_id=created["token_id"]).update(
        expires=AccessToken.objects.get(token_id=created["token_id"]).created)
    answer = requests.get(f"{server.url}/api/security/token", auth=("alice", created["access_token"]))
    assert answer.status_code == 401


def test_read_only_token_reads_but_cannot_deploy_delete_or_mint_tokens(server, alice):
    assert requests.put(f"{server.url}/generic-local/ro/a.txt", data=b"x",
                        auth=("alice", "alice-pass")).status_code == 201
    token = create_token(server, ("alice", "alice-pass"), read_only="true")
    assert token["scope"] == "applied-permissions/user read-only"
    auth = ("alice", token["access_token"])
    assert requests.get(f"{server.url}/generic-local/ro/a.txt", auth=auth).status_code == 200
    assert requests.put(f"{server.url}/generic-local/ro/b.txt", data=b"y", auth=auth).status_code == 403
    assert requests.delete(f"{server.url}/generic-local/ro/a.txt", auth=auth).status_code == 403
    assert requests.post(f"{server.url}/api/security/token", auth=auth).status_code == 403


def test_admin_read_only_token_is_no_admin(server, admin_http):
    token = admin_http.post(f"{server.url}/api/security/token", data={"read_only": "1"}).json()
    auth = ("admin", token["access_token"])
    assert requests.get(f"{server.url}/generic-local/", auth=auth).status_code == 200
    assert requests.put(f"{server.url}/generic-local/x.txt", data=b"x", auth=auth).status_code == 403
    assert requests.get(f"{server.url}/api/security/users", auth=auth).status_code == 403
    assert requests.put(f"{server.url}/api/repositories/evil", json={"rclass": "local"},
                        auth=auth).status_code == 403


def test_repository_scoped_token_sees_and_writes_only_its_repositories(server, alice):
    token = create_token(server, ("alice", "alice-pass"), repositories="team-local")
    auth = ("alice", token["access_token"])
    assert requests.put(f"{server.url}/team-local/a.txt", data=b"t", auth=auth).status_code == 201
    assert requests.put(f"{server.url}/generic-local/a.txt", data=b"g", auth=auth).status_code == 403
    listed = requests.get(f"{server.url}/api/repositories", auth=auth).json()
    assert [r["key"] for r in listed] == ["team-local"]
    assert requests.get(f"{server.url}/api/repositories", auth=("alice", "alice-pass")).json() != listed


def test_unknown_repository_in_scope_is_a_clear_400_and_nothing_is_created(server, alice):
    answer = requests.post(f"{server.url}/api/security/token", auth=("alice", "alice-pass"),
                           json={"repositories": ["nope"]})
    assert answer.status_code == 400 and "nope" in answer.json()["errors"][0]["message"]
    assert not AccessToken.objects.exists()


def test_anonymous_cannot_create_tokens(server):
    assert requests.post(f"{server.url}/api/security/token").status_code == 401
