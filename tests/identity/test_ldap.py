"""Logins against a real OpenLDAP (slapd on 127.0.0.1): users created on first login,
directory groups mapped to repomgr groups that permission targets name, an admin group, the UI
and HTTP Basic; and a directory that does not answer is a quick, clear error."""

import socket

import pytest
import requests
from django.contrib.auth import get_user_model

from apps.audit.models import AuditEvent
from apps.pypi.models import PypiFile
from apps.security.models import SecuritySettings
from tests.factories import grant, make_group
from tests.factories.pypi import make_wheel
from tests.identity.slapd import ROOT_PASSWORD, Slapd, group, person
from tests.identity.servers import extra_server
from tests.pypi.clients import installed_version, pip_install, twine_upload
from tests.security.browser import form_fields, form_login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def directory():
    slapd = Slapd([
        person("lara", "lara-pass", "lara@example.org"),
        person("nora", "nora-pass", "nora@example.org"),
        person("adam", "adam-pass", "adam@example.org"),
        group("deployers", ["lara"]),
        group("repomgr-admins", ["adam"]),
    ]).start()
    yield slapd
    slapd.stop()


@pytest.fixture(scope="module")
def ldap_server(live_server_process, directory):
    server = extra_server(directory.server_env(), log_name="ldap").start()
    yield server
    server.stop()


@pytest.fixture
def deployers(bootstrapped):
    make_group("deployers")
    grant("deployers-generic", repositories=["generic-local"], groups={"deployers": ["read", "deploy"]})


def test_group_member_deploys_with_basic_auth_and_is_created_with_its_groups(ldap_server, deployers):
    put = requests.put(f"{ldap_server.url}/generic-local/ldap/a.txt", data=b"a", auth=("lara", "lara-pass"))
    assert put.status_code == 201, put.text
    lara = get_user_model().objects.get(username="lara")
    assert lara.email == "lara@example.org" and not lara.has_usable_password()
    assert list(lara.groups.values_list("name", flat=True)) == ["deployers"]
    assert not lara.is_superuser
    assert AuditEvent.objects.filter(action="artifact.deploy", actor="lara").exists()
    assert "lara-pass" not in ldap_server.log() and ROOT_PASSWORD not in ldap_server.log()


def test_member_of_no_group_cannot_deploy_and_a_wrong_password_is_401(ldap_server, deployers):
    refused = requests.put(f"{ldap_server.url}/generic-local/ldap/b.txt", data=b"b", auth=("nora", "nora-pass"))
    assert refused.status_code == 403
    assert requests.get(f"{ldap_server.url}/api/security/token", auth=("nora", "wrong")).status_code == 401
    assert AuditEvent.objects.filter(action="login", actor="nora", success=False).exists()


@pytest.mark.slow
def test_twine_upload_needs_the_directory_group_that_may_deploy(ldap_server, bootstrapped, tmp_path):
    make_group("deployers")
    grant("deployers-pypi", repositories=["pypi-local"], groups={"deployers": ["read", "deploy"]})
    url = f"{ldap_server.url}/api/pypi/pypi-local/"
    refused = twine_upload(url, [make_wheel(tmp_path, "nogroup-pkg", "1.0")], user="nora",
                           password="nora-pass", check=False)
    assert refused.returncode != 0 and "403" in refused.stdout + refused.stderr
    twine_upload(url, [make_wheel(tmp_path, "ldap-pkg", "1.0")], user="lara", password="lara-pass")
    assert list(PypiFile.objects.values_list("filename", flat=True)) == ["ldap_pkg-1.0-py3-none-any.whl"]


@pytest.mark.slow
def test_pip_installs_with_directory_credentials_only_for_a_group_that_may_read(ldap_server, bootstrapped, tmp_path):
    SecuritySettings.objects.update(anonymous_access=False)
    make_group("deployers")
    grant("deployers-pypi", repositories=["pypi-local"], groups={"deployers": ["read", "deploy"]})
    twine_upload(f"{ldap_server.url}/api/pypi/pypi-local/", [make_wheel(tmp_path, "ldap-lib", "2.0")])
    index = "http://{}@" + ldap_server.host + "/api/pypi/pypi-local/simple/"
    pip_install(index.format("lara:lara-pass"), tmp_path / "lara", "ldap-lib")
    assert installed_version(tmp_path / "lara", "ldap_lib") == "2.0"
    refused = pip_install(index.format("nora:nora-pass"), tmp_path / "nora", "ldap-lib", check=False)
    assert refused.returncode != 0 and not (tmp_path / "nora" / "ldap_lib").exists()


def test_admin_group_makes_an_administrator(ldap_server, bootstrapped):
    users = requests.get(f"{ldap_server.url}/api/security/users", auth=("adam", "adam-pass"))
    assert users.status_code == 200
    assert get_user_model().objects.get(username="adam").is_superuser


def test_ui_login_with_directory_credentials_then_a_token(ldap_server, deployers):
    browser = form_login(ldap_server, "/ui/login/", "lara", "lara-pass")
    home = browser.get(f"{ldap_server.url}/ui/")
    assert home.status_code == 200 and "deployers" in home.text
    token = browser.post(f"{ldap_server.url}/api/security/token", data={"description": "ci"},
                         headers={"X-CSRFToken": browser.cookies["csrftoken"], "Referer": ldap_server.url})
    assert token.status_code == 200, token.text
    put = requests.put(f"{ldap_server.url}/generic-local/ldap/c.txt", data=b"c",
                       auth=("lara", token.json()["access_token"]))
    assert put.status_code == 201


@pytest.fixture(scope="module")
def silent_directory():
    """A port that accepts connections and never answers: the worst kind of outage."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"ldap://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture  # one test each: stopped right after it
def outage_server(live_server_process, directory, silent_directory):
    env = directory.server_env(REPOMGR_LDAP_SERVER_URI=silent_directory, REPOMGR_LDAP_TIMEOUT="1",
                               REPOMGR_WORKERS="1")  # one process: one cache to remember the outage
    server = extra_server(env, log_name="ldap-outage").start()
    yield server
    server.stop()


def test_unreachable_directory_is_a_clear_error_and_local_accounts_still_work(outage_server, bootstrapped):
    answer = requests.get(f"{outage_server.url}/api/security/token", auth=("lara", "lara-pass"), timeout=60)
    assert answer.status_code == 503
    assert "directory (LDAP) cannot be reached" in answer.json()["errors"][0]["message"]
    # The next directory login fails at once: the directory is not asked again for a while.
    again = requests.get(f"{outage_server.url}/api/security/token", auth=("lara", "lara-pass"), timeout=60)
    assert again.status_code == 503
    assert requests.get(f"{outage_server.url}/api/security/users", auth=("admin", "password"),
                        timeout=60).status_code == 200
    browser = requests.Session()
    form = form_fields(browser.get(f"{outage_server.url}/ui/login/").text)
    page = browser.post(f"{outage_server.url}/ui/login/", timeout=60,
                        data={**form, "username": "lara", "password": "lara-pass"})
    assert "directory (LDAP) cannot be reached" in page.text and "sessionid" not in browser.cookies
    assert outage_server.log().count("Caught LDAPError") == 1


@pytest.fixture  # one test each: stopped right after it
def recovering_server(live_server_process, directory):
    env = directory.server_env(REPOMGR_LDAP_TIMEOUT="1", REPOMGR_LDAP_RETRY_SECONDS="0", REPOMGR_WORKERS="1")
    server = extra_server(env, log_name="ldap-recovery").start()
    yield server
    server.stop()


def test_directory_users_log_in_again_as_soon_as_it_answers_again(recovering_server, directory, bootstrapped):
    url = f"{recovering_server.url}/api/security/token"
    with directory.frozen():
        assert requests.get(url, auth=("nora", "nora-pass"), timeout=60).status_code == 503
    assert requests.get(url, auth=("nora", "nora-pass"), timeout=60).status_code == 200


@pytest.fixture
def ldap_settings(settings, directory, monkeypatch):
    """This process configured like the server, for running the scheduled job here."""
    from apps.security import identity_settings

    for name, value in directory.server_env(REPOMGR_LDAP_TIMEOUT="1").items():
        monkeypatch.setenv(name, value)
    for name, value in identity_settings.ldap_settings().items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "apps.security.ldap.DirectoryBackend"]
    return settings


def test_scheduled_sync_deactivates_accounts_gone_from_the_directory(ldap_server, deployers, directory, ldap_settings):
    from apps.security.tasks import sync_directory_users

    directory.add(person("gone", "gone-pass", "gone@example.org"), group("leavers", ["gone"]))
    auth = ("gone", "gone-pass")
    token = requests.post(f"{ldap_server.url}/api/security/token", auth=auth).json()["access_token"]
    assert requests.get(f"{ldap_server.url}/api/security/users/gone", auth=("admin", "password")).json()["realm"] == "ldap"
    with directory.frozen():
        assert sync_directory_users() == {"refreshed": 0, "deactivated": 0}
    assert requests.get(f"{ldap_server.url}/api/security/token", auth=("gone", token)).status_code == 200

    directory.delete("cn=leavers,ou=groups,dc=example,dc=org", "uid=gone,ou=people,dc=example,dc=org")
    assert sync_directory_users()["deactivated"] == 1
    assert not get_user_model().objects.get(username="gone").is_active
    assert requests.get(f"{ldap_server.url}/api/security/token", auth=("gone", token)).status_code == 401
    assert AuditEvent.objects.filter(action="user.deactivate", target="gone").exists()


def test_logging_in_again_unchanged_leaves_the_configuration_cached(deployers, directory, ldap_settings):
    """Every directory login refreshes the account (and its groups) from the directory; when
    nothing changed there, no process has to read its configuration again."""
    from django.contrib.auth import authenticate

    from apps.core.models import ConfigGeneration

    assert authenticate(username="lara", password="lara-pass").groups.get().name == "deployers"
    generation = ConfigGeneration.objects.get(pk=1).value
    assert authenticate(username="lara", password="lara-pass") is not None
    assert ConfigGeneration.objects.get(pk=1).value == generation
