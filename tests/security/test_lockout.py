"""Repeated failed logins from one address lock that address out for a while, on every node:
the count lives in the database, so two separate servers share it."""

import pytest
import requests

from apps.audit.models import AuditEvent
from apps.security.models import LoginFailures
from tests.factories import make_user
from tests.identity.servers import extra_server

pytestmark = pytest.mark.django_db(transaction=True)

POLICY = {"REPOMGR_LOGIN_MAX_FAILURES": "3", "REPOMGR_LOGIN_LOCKOUT_SECONDS": "600",
          "REPOMGR_TRUSTED_PROXIES": "127.0.0.1"}


@pytest.fixture(scope="module")
def two_nodes(live_server_process):
    nodes = [extra_server(POLICY, log_name=f"lockout-node{i}").start() for i in (1, 2)]
    yield nodes
    for node in nodes:
        node.stop()


def basic(node, auth, client="198.51.100.7"):
    return requests.get(f"{node.url}/api/security/token", auth=auth,
                        headers={"X-Forwarded-For": client})


def test_failures_on_two_nodes_lock_the_address_on_both(bootstrapped, two_nodes):
    node1, node2 = two_nodes
    make_user("erin", "erin-pass")
    assert basic(node1, ("erin", "bad-1")).status_code == 401
    assert basic(node2, ("erin", "bad-2")).status_code == 401
    third = basic(node1, ("erin", "bad-3"))
    assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0
    assert "Too many failed logins" in third.json()["errors"][0]["message"]

    # Locked: even the right password is refused, on the other node too ...
    assert basic(node2, ("erin", "erin-pass")).status_code == 429
    # ... but only for that address.
    assert basic(node2, ("erin", "erin-pass"), client="198.51.100.8").status_code == 200
    assert AuditEvent.objects.filter(action="login.lockout", target="198.51.100.7").count() == 1
    # Behind the trusted proxy, the audit log names the client, not the proxy.
    failures = AuditEvent.objects.filter(action="login", actor="erin", success=False)
    assert set(failures.values_list("client_address", flat=True)) == {"198.51.100.7"}


def test_the_ui_and_admin_login_forms_are_locked_too(bootstrapped, two_nodes):
    node1, _ = two_nodes
    LoginFailures.objects.create(source="198.51.100.9", failures=0, window_start="2020-01-01T00:00Z",
                                 locked_until="2999-01-01T00:00Z")
    session = requests.Session()
    session.headers["X-Forwarded-For"] = "198.51.100.9"
    form = session.get(f"{node1.url}/admin/login/")
    token = form.text.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    answer = session.post(f"{node1.url}/admin/login/", data={
        "csrfmiddlewaretoken": token, "username": "admin", "password": "password", "next": "/admin/"})
    assert answer.status_code == 200 and "sessionid" not in session.cookies
    assert "Too many failed logins from your address" in answer.text
