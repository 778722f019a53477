"""SAML 2.0 single sign-on against a real IdP (SimpleSAMLphp on 127.0.0.1): SP metadata at a
stable URL, a full SP-initiated round trip without a browser, attribute and group mapping,
single logout, and an SSO user who mints an access token for clients."""

import shutil
import subprocess
from datetime import timedelta
from urllib.parse import urljoin

import pytest
import requests
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.security.models import LoginFailures, SecuritySettings
from tests.factories import grant, make_group
from tests.factories.docker import make_image, write_oci_layout
from tests.identity.idp import SimpleSamlIdp
from tests.identity.servers import extra_server
from tests.identity.sso import form_with, sso_env, sso_login, sso_token
from tests.security.browser import form_fields

pytestmark = pytest.mark.django_db(transaction=True)

USERS = {
    "sam": {"password": "sam-pass", "uid": ["sam"], "mail": ["sam@example.org"], "givenName": ["Sam"],
            "groups": ["deployers", "sso-users"]},
    "ida": {"password": "ida-pass", "uid": ["ida"], "mail": ["ida@example.org"], "groups": ["repomgr-admins"]},
    "admin": {"password": "idp-admin-pass", "uid": ["admin"], "groups": ["repomgr-admins"]},
}


@pytest.fixture(scope="module")
def idp():
    provider = SimpleSamlIdp(USERS).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def sso_server(live_server_process, idp):
    server = extra_server(log_name="saml")
    server.env.update(sso_env(server, idp, REPOMGR_SAML_ADMIN_GROUP="repomgr-admins"))
    server.start()
    idp.trust_sp_of(server)
    yield server
    server.stop()


def test_sp_metadata_is_served_at_a_stable_url(sso_server):
    xml = requests.get(f"{sso_server.url}/ui/saml2/metadata/").text
    assert f'entityID="{sso_server.url}/ui/saml2/metadata/"' in xml
    assert f'Location="{sso_server.url}/ui/saml2/acs/"' in xml


def test_round_trip_creates_the_user_with_mapped_attributes_and_groups(sso_server, bootstrapped):
    make_group("deployers")
    # Password lock-outs are about passwords: a locked address may still sign on through the IdP.
    LoginFailures.objects.create(source="127.0.0.1", window_start=timezone.now(),
                                 locked_until=timezone.now() + timedelta(minutes=5))
    browser, landed = sso_login(sso_server, "sam", "sam-pass")
    assert landed.status_code == 200 and landed.url == f"{sso_server.url}/ui/"
    assert "Welcome, Sam" in landed.text
    LoginFailures.objects.all().delete()
    sam = get_user_model().objects.get(username="sam")
    assert sam.email == "sam@example.org" and not sam.has_usable_password() and not sam.is_superuser
    assert sorted(sam.groups.values_list("name", flat=True)) == ["deployers", "sso-users"]
    assert requests.get(f"{sso_server.url}/api/security/users/sam", auth=("admin", "password")).json()["realm"] == "saml"
    assert AuditEvent.objects.filter(action="login", actor="sam", detail__via="SamlBackend").exists()


def test_admin_group_and_wrong_password(sso_server, bootstrapped):
    browser, landed = sso_login(sso_server, "ida", "ida-pass", next_url="/admin/")
    assert landed.status_code == 200 and "Site administration" in landed.text
    assert get_user_model().objects.get(username="ida").is_superuser
    failed = requests.Session()
    page = failed.get(f"{sso_server.url}/ui/saml2/login/")
    action, fields = form_with(page.text, "password")
    answer = failed.post(urljoin(page.url, action or page.url), data={**fields, "username": "ida", "password": "no"})
    assert "SAMLResponse" not in answer.text
    assert failed.get(f"{sso_server.url}/ui/", allow_redirects=False).status_code == 302


def test_an_assertion_never_takes_over_a_local_account(sso_server, bootstrapped):
    browser, landed = sso_login(sso_server, "admin", "idp-admin-pass")
    assert landed.status_code == 403
    assert not LoginFailures.objects.exists()  # a refused assertion is no password guess
    assert browser.get(f"{sso_server.url}/api/security/users").status_code in (401, 403)


def test_sso_user_creates_a_token_and_deploys_and_reads_with_it(sso_server, bootstrapped):
    make_group("deployers")
    grant("deployers-generic", repositories=["generic-local"], groups={"deployers": ["read", "deploy"]})
    secret = sso_token(sso_server, "sam", "sam-pass")
    put = requests.put(f"{sso_server.url}/generic-local/sso/a.txt", data=b"sso", auth=("sam", secret))
    assert put.status_code == 201, put.text
    got = requests.get(f"{sso_server.url}/generic-local/sso/a.txt", headers={"Authorization": f"Bearer {secret}"})
    assert got.content == b"sso"
    assert secret not in sso_server.log() and "sam-pass" not in sso_server.log()


def skopeo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo is not installed")
def test_sso_user_pulls_an_image_with_an_access_token(sso_server, bootstrapped, tmp_path):
    SecuritySettings.objects.update(anonymous_access=False)
    make_group("deployers")
    grant("deployers-docker", repositories=["docker-local"], groups={"deployers": ["read"]})
    image = make_image(layer_sizes=(4096,))
    target = f"docker://{sso_server.host}/docker-local/team/app:1.0"
    pushed = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "admin:password",
                    f"oci:{write_oci_layout(tmp_path / 'in', image, '1.0')}:1.0", target)
    assert pushed.returncode == 0, pushed.stderr

    anonymous = skopeo("copy", "--src-tls-verify=false", target, f"oci:{tmp_path / 'anon'}:1.0")
    assert anonymous.returncode != 0
    token = sso_token(sso_server, "sam", "sam-pass")
    pulled = skopeo("copy", "--src-tls-verify=false", "--src-creds", f"sam:{token}", target,
                    f"oci:{tmp_path / 'out'}:1.0")
    assert pulled.returncode == 0, pulled.stderr
    assert image.digest in (tmp_path / "out" / "index.json").read_text()


def test_logout_from_the_ui_ends_the_session_at_the_idp_too(sso_server, bootstrapped):
    browser, landed = sso_login(sso_server, "sam", "sam-pass")
    logout = browser.post(f"{sso_server.url}/ui/logout/", data=form_fields(landed.text),
                          headers={"Referer": landed.url})
    assert logout.url == f"{sso_server.url}/ui/login/", logout.text[:2000]
    assert any("/saml2/idp/SingleLogoutService.php?SAMLRequest=" in r.url for r in logout.history)
    assert browser.get(f"{sso_server.url}/ui/", allow_redirects=False).status_code == 302
    # The IdP forgot us as well: logging in again asks for the password.
    again = browser.get(f"{sso_server.url}/ui/saml2/login/")
    assert 'name="password"' in again.text


def test_idp_metadata_from_a_file_and_the_sso_link_on_the_login_page(live_server_process, idp, bootstrapped, tmp_path):
    metadata = tmp_path / "idp.xml"
    metadata.write_text(requests.get(idp.metadata_url).text)
    server = extra_server(log_name="saml-file")
    server.env.update({"REPOMGR_SAML_BASE_URL": server.url, "REPOMGR_SAML_IDP_METADATA_FILE": str(metadata)})
    server.start()
    try:
        assert 'href="/ui/saml2/login/?next=' in requests.get(f"{server.url}/ui/login/").text
        assert 'href="/ui/saml2/login/?next=/admin/' in requests.get(f"{server.url}/admin/login/?next=/admin/").text
        start = requests.get(f"{server.url}/ui/saml2/login/", allow_redirects=False)
        assert start.status_code == 302
        assert start.headers["Location"].startswith(f"{idp.url}/saml2/idp/SSOService.php?SAMLRequest=")
    finally:
        server.stop()
