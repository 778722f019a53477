"""REPOMGR_SECURE=1 under the production settings module (not the tests' fast hasher): secure
cookies and headers, and passwords stored with the strongest hasher."""

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.factories import make_user
from tests.identity.servers import extra_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def production_server(live_server_process):
    server = extra_server({"DJANGO_SETTINGS_MODULE": "repomgr.settings", "REPOMGR_SECURE": "1",
                           "REPOMGR_SECRET_KEY": "x" * 60, "REPOMGR_BEHIND_PROXY": "1"},
                          log_name="secure")
    server.start()
    yield server
    server.stop()


def test_secure_cookies_and_headers_over_https(production_server, bootstrapped):
    page = requests.get(f"{production_server.url}/ui/login/", headers={"X-Forwarded-Proto": "https"})
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-csrftoken=")
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"))


def test_a_login_rehashes_an_older_password_with_argon2(production_server, bootstrapped):
    user = make_user("gina")
    user.password = PBKDF2PasswordHasher().encode("gina-pass", "saltsaltsalt")
    user.save()
    answer = requests.get(f"{production_server.url}/api/security/token", auth=("gina", "gina-pass"))
    assert answer.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
