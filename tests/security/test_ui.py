"""The UI's login, logout and access-token pages over real HTTP, CSRF included."""

import re

import pytest
import requests

from apps.security.models import AccessToken
from apps.security.tokens import token_create
from tests.factories import make_repository, make_user
from tests.security.browser import form_fields, form_login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def frank(server):
    return make_user("frank", "frank-pass")


def test_login_shows_home_and_logout_ends_the_session(server, frank):
    browser = form_login(server, "/ui/login/", "frank", "frank-pass")
    home = browser.get(f"{server.url}/ui/")
    assert home.status_code == 200 and "frank" in home.text
    assert browser.get(f"{server.url}/ui/logout/").status_code == 405  # never a GET side effect
    logout = browser.post(f"{server.url}/ui/logout/", data=form_fields(home.text),
                          headers={"Referer": f"{server.url}/ui/"})
    assert logout.url.endswith("/ui/login/")
    assert browser.get(f"{server.url}/ui/", allow_redirects=False).status_code == 302


def test_wrong_password_is_refused_with_a_message(server, frank):
    browser = form_login(server, "/ui/login/", "frank", "not-it")
    assert browser.get(f"{server.url}/ui/", allow_redirects=False).status_code == 302
    page = browser.post(f"{server.url}/ui/login/", data={**form_fields(browser.get(f"{server.url}/ui/login/").text),
                                                         "username": "frank", "password": "not-it"})
    assert "correct username and password" in page.text


def test_forms_without_csrf_token_are_refused(server, frank):
    session = requests.Session()
    session.get(f"{server.url}/ui/login/")
    answer = session.post(f"{server.url}/ui/login/", data={"username": "frank", "password": "frank-pass"})
    assert answer.status_code == 403
    browser = form_login(server, "/ui/login/", "frank", "frank-pass")
    forged = browser.post(f"{server.url}/ui/tokens/", data={"description": "forged"})
    assert forged.status_code == 403 and not AccessToken.objects.exists()


def test_token_page_creates_shows_once_and_revokes(server, frank):
    make_repository("frank-local")
    browser = form_login(server, "/ui/login/", "frank", "frank-pass")
    page = browser.get(f"{server.url}/ui/tokens/")
    fields = {**form_fields(page.text.split("<h2>New token</h2>")[1]), "description": "laptop",
              "expires_in_days": "7", "read_only": "on", "repositories": "frank-local"}
    created = browser.post(f"{server.url}/ui/tokens/", data=fields, headers={"Referer": page.url})
    secret = re.search(r'id="new-token">(rmt_[^<]+)<', created.text).group(1)
    assert created.headers["Cache-Control"] == "no-store"
    token = AccessToken.objects.get()
    assert token.scope.read_only and token.scope.repositories == ["frank-local"] and token.expires

    assert requests.get(f"{server.url}/api/security/token", auth=("frank", secret)).status_code == 200
    again = browser.get(f"{server.url}/ui/tokens/")
    assert secret not in again.text and "laptop" in again.text

    revoke_form = again.text.split(f'id="token-{token.token_id}"')[1]
    revoked = browser.post(f"{server.url}/ui/tokens/{token.token_id}/revoke/", data=form_fields(revoke_form),
                           headers={"Referer": again.url})
    assert "Token revoked." in revoked.text and not AccessToken.objects.exists()
    assert requests.get(f"{server.url}/api/security/token", auth=("frank", secret)).status_code == 401


def test_token_pages_need_a_login(server):
    answer = requests.get(f"{server.url}/ui/tokens/", allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/ui/login/")


def test_session_calls_to_the_rest_api_need_the_csrf_header(server, frank):
    browser = form_login(server, "/ui/login/", "frank", "frank-pass")
    forged = browser.post(f"{server.url}/api/security/token", data={"description": "forged"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    ok = browser.post(f"{server.url}/api/security/token", data={"description": "mine"},
                      headers={"X-CSRFToken": browser.cookies["csrftoken"], "Referer": server.url})
    assert ok.status_code == 200


def test_admins_see_and_revoke_everyones_tokens_on_the_page(server, frank):
    _, secret = token_create(user=frank, description="franks-ci")
    token = AccessToken.objects.get()
    frank_page = form_login(server, "/ui/login/", "frank", "frank-pass").get(f"{server.url}/ui/tokens/")
    admin = form_login(server, "/ui/login/", "admin", "password")
    page = admin.get(f"{server.url}/ui/tokens/")
    row = page.text.split(f'id="token-{token.token_id}"')[1]
    assert "<td>frank</td>" in row and "franks-ci" in row and secret not in page.text
    revoked = admin.post(f"{server.url}/ui/tokens/{token.token_id}/revoke/", data=form_fields(row),
                         headers={"Referer": page.url})
    assert "Token revoked." in revoked.text and not AccessToken.objects.exists()
    assert "Owner" not in frank_page.text


def test_users_cannot_revoke_others_tokens_from_the_page(server, frank):
    token, _ = token_create(user=make_user("gus", "gus-pass"))
    browser = form_login(server, "/ui/login/", "frank", "frank-pass")
    page = browser.get(f"{server.url}/ui/tokens/")
    answer = browser.post(f"{server.url}/ui/tokens/{token.token_id}/revoke/", data=form_fields(page.text),
                          headers={"Referer": page.url})
    assert "No such token." in answer.text and AccessToken.objects.filter(pk=token.pk).exists()
