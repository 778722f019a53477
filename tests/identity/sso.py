"""Single sign-on as a browser would do it, without a browser, against the test IdP."""

import re
from html import unescape
from urllib.parse import urljoin

import requests

from tests.identity.idp import SimpleSamlIdp, self_signed
from tests.security.browser import form_fields


def sso_env(server, idp: SimpleSamlIdp, **extra: str) -> dict[str, str]:
    """The REPOMGR_SAML_* settings for ``server`` (not started yet) to trust ``idp``."""
    key, cert = self_signed(idp.dir, f"sp-{server.port}")
    return {
        "REPOMGR_SAML_BASE_URL": server.url,
        "REPOMGR_SAML_IDP_METADATA_URL": idp.metadata_url,
        "REPOMGR_SAML_KEY_FILE": str(key), "REPOMGR_SAML_CERT_FILE": str(cert),
        "REPOMGR_SAML_ATTR_USERNAME": "uid", "REPOMGR_SAML_ATTR_GROUPS": "groups",
        **extra,
    }


def form_with(page: str, field: str) -> tuple[str | None, dict]:
    """The action and fields of the first form on ``page`` that has an input named ``field``."""
    for form in re.findall(r"<form\b.*?</form>", page, re.S | re.I):
        if f'name="{field}"' in form:
            action = re.search(r'action="([^"]*)"', form)
            return (unescape(action.group(1)) if action else None), form_fields(form + "</form>")
    raise AssertionError(f"no form with {field!r} in:\n{page[:2000]}")


def sso_login(server, username: str, password: str, next_url: str = "/ui/") -> tuple[requests.Session, requests.Response]:
    """Follow the SP-initiated flow the way a browser would: SP -> IdP login form -> POST
    credentials -> the IdP's auto-submitted SAMLResponse form -> the SP's ACS -> ``next_url``."""
    browser = requests.Session()
    login_page = browser.get(f"{server.url}/ui/saml2/login/", params={"next": next_url})
    assert login_page.status_code == 200, login_page.text[:2000]
    action, fields = form_with(login_page.text, "password")
    posted = browser.post(urljoin(login_page.url, action or login_page.url),
                          data={**fields, "username": username, "password": password})
    action, fields = form_with(posted.text, "SAMLResponse")
    assert action.startswith(f"{server.url}/ui/saml2/acs/")
    return browser, browser.post(action, data=fields)


def sso_token(server, username: str, password: str) -> str:
    """Log in through the IdP and create an access token on the UI page; returns its secret."""
    browser, landed = sso_login(server, username, password, next_url="/ui/tokens/")
    fields = {**form_with(landed.text, "description")[1], "description": "ci"}
    created = browser.post(f"{server.url}/ui/tokens/", data=fields, headers={"Referer": landed.url})
    return re.search(r'id="new-token">(rmt_[^<]+)<', created.text).group(1)
