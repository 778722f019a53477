"""The audit log records logins, tokens, permission and repository changes, deploys and
deletes, with who, when and from where, and never a secret."""

import json

import pytest
import requests

from apps.audit.models import AuditEvent
from tests.factories import make_user
from tests.factories.docker import make_image, push_image
from tests.security.browser import form_login

pytestmark = pytest.mark.django_db(transaction=True)


def events(action: str, **where) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **where).order_by("id"))


def test_deploy_delete_token_permission_and_repository_changes_are_recorded(server, admin_http):
    make_user("carol", "carol-pass")
    assert admin_http.put(f"{server.url}/generic-local/a/b.txt", data=b"b").status_code == 201
    assert admin_http.delete(f"{server.url}/generic-local/a/b.txt").status_code == 204
    token = admin_http.post(f"{server.url}/api/security/token", data={"description": "ci"}).json()
    assert admin_http.delete(f"{server.url}/api/security/token/{token['token_id']}").status_code == 200
    target = {"repo": {"repositories": ["generic-local"], "actions": {"users": {"carol": ["read", "write"]}}}}
    assert admin_http.put(f"{server.url}/api/v2/security/permissions/carol-target", json=target).status_code == 201
    assert admin_http.put(f"{server.url}/api/repositories/audited-local",
                          json={"rclass": "local", "packageType": "generic"}).status_code == 200
    assert admin_http.delete(f"{server.url}/api/repositories/audited-local").status_code == 200

    deploy, = events("artifact.deploy")
    assert (deploy.actor, deploy.target, deploy.client_address) == ("admin", "generic-local/a/b.txt", "127.0.0.1")
    assert events("artifact.delete")[0].actor == "admin"
    created, = events("token.create")
    assert created.detail["token_id"] == token["token_id"] and created.actor == "admin"
    assert events("token.revoke")[0].detail["token_id"] == token["token_id"]
    assert [e.actor for e in events("permission.create", target="carol-target")] == ["admin"]
    assert [e.actor for e in events("repository.create", target="audited-local")] == ["admin"]
    assert [e.actor for e in events("repository.delete", target="audited-local")] == ["admin"]

    everything = json.dumps([[e.actor, e.target, e.detail] for e in AuditEvent.objects.all()])
    assert token["access_token"] not in everything and "password" not in everything


def test_group_membership_and_anonymous_access_changes_are_recorded(server, admin_http):
    make_user("hank", "hank-pass", groups=["ops"])
    assert admin_http.put(f"{server.url}/api/security/groups/ops", json={"userNames": []}).status_code == 200
    memberships = [(e.actor, e.target, e.detail) for e in events("group.members", target="ops")]
    assert memberships == [("(system)", "ops", {"added": ["hank"]}), ("admin", "ops", {"removed": ["hank"]})]
    assert events("security_settings.create")


def test_registry_bearer_token_users_are_named_in_the_log(server, admin_http):
    """Whatever authentication class a protocol uses, the record names the user it found."""
    scope = "repository:docker-local/team/app:pull,push,delete"
    jwt = admin_http.get(f"{server.url}/v2/token", params={"scope": scope}).json()["token"]
    registry = requests.Session()
    registry.headers["Authorization"] = f"Bearer {jwt}"
    image = make_image(layer_sizes=(1024,))
    assert push_image(registry, server.url, "docker-local/team/app", image, "1.0").status_code == 201
    deleted = registry.delete(f"{server.url}/v2/docker-local/team/app/manifests/{image.digest}")
    assert deleted.status_code == 202
    manifest_events = [e for e in AuditEvent.objects.filter(target__contains=image.digest.split(":")[1])
                       if "manifest" in e.target]
    assert {(e.action, e.actor) for e in manifest_events} == {("artifact.deploy", "admin"), ("artifact.delete", "admin")}


def test_logins_success_and_failure_are_recorded_without_the_password(server):
    make_user("dave", "dave-pass-1")
    assert requests.get(f"{server.url}/api/security/token", auth=("dave", "wrong-guess-42")).status_code == 401
    assert requests.get(f"{server.url}/api/security/token", auth=("dave", "dave-pass-1")).status_code == 200
    logins = events("login")
    assert [(e.actor, e.success) for e in logins] == [("dave", False), ("dave", True)]
    assert all(e.client_address == "127.0.0.1" for e in logins)
    assert "wrong-guess-42" not in json.dumps([e.detail for e in AuditEvent.objects.all()])


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(server):
    requests.get(f"{server.url}/api/security/token", auth=("nobody", "x"),
                 headers={"X-Forwarded-For": "203.0.113.9"})
    assert events("login")[0].client_address == "127.0.0.1"


def test_audit_log_is_browsable_read_only_in_the_admin(server, admin_http):
    admin_http.put(f"{server.url}/generic-local/seen.txt", data=b"s")
    browser = form_login(server, "/admin/login/", "admin", "password", next_url="/admin/")
    listing = browser.get(f"{server.url}/admin/audit/auditevent/?action=artifact.deploy")
    assert listing.status_code == 200 and "generic-local/seen.txt" in listing.text
    event = AuditEvent.objects.get(action="artifact.deploy")
    detail = browser.get(f"{server.url}/admin/audit/auditevent/{event.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.text
    assert browser.get(f"{server.url}/admin/audit/auditevent/add/").status_code == 403
