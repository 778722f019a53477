"""A browser without a browser: requests sessions that log in through our HTML forms."""

import re
from html import unescape

import requests

_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_ATTR = re.compile(r'([a-zA-Z_:-]+)\s*=\s*"([^"]*)"')


def form_fields(page: str) -> dict[str, str]:
    """The named inputs of the first form on ``page`` with their values (hidden ones included)."""
    fields = {}
    for tag in _INPUT.findall(page.split("</form>")[0]):
        attrs = {k.lower(): unescape(v) for k, v in _ATTR.findall(tag)}
        if "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def form_action(page: str) -> str | None:
    match = re.search(r'<form\b[^>]*\baction="([^"]*)"', page, re.I)
    return unescape(match.group(1)) if match else None


def form_login(server, path: str, username: str, password: str, *, next_url: str = "",
               session: requests.Session | None = None) -> requests.Session:
    """Log in through the login form at ``path`` (CSRF token and all); returns the session."""
    browser = session or requests.Session()
    page = browser.get(f"{server.url}{path}")
    fields = {**form_fields(page.text), "username": username, "password": password}
    if next_url:
        fields["next"] = next_url
    browser.post(f"{server.url}{path}", data=fields, headers={"Referer": f"{server.url}{path}"})
    return browser
