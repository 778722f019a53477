"""Browser middleware stands aside for protocol requests without a session cookie, and only
where every view is a DRF view that authenticates by itself."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from apps.security.models import SecuritySettings

pytestmark = pytest.mark.django_db(transaction=True)

BROWSER_ROUTES = ("admin/", "ui/")


def _leaves(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _leaves(entry.url_patterns, route)
        else:
            assert isinstance(entry, URLPattern)
            yield route, entry.callback


def test_every_route_but_the_browser_pages_is_a_drf_view():
    """What lets the protocol prefixes go without sessions: a request under them reaches a DRF
    view (the catch-all artifact route included), never the admin site or the UI pages."""
    leaves = list(_leaves(get_resolver().url_patterns))
    for route, callback in leaves:
        if route.lstrip("^").startswith(BROWSER_ROUTES):
            continue
        assert issubclass(getattr(callback, "cls", type), APIView), route
    assert any(route.startswith("admin/") for route, _ in leaves)


def test_protocol_requests_without_a_session_cookie_skip_it_and_a_browser_session_still_counts(
        bootstrapped):
    SecuritySettings.objects.update(anonymous_access=False)
    url = "/api/pypi/pypi-local/simple/"

    plain = Client()
    response = plain.get(url)
    assert response.status_code == 401
    assert "sessionid" not in response.cookies and "messages" not in response.cookies
    assert not hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "_messages")
    assert plain.get(url, HTTP_AUTHORIZATION="Basic YWRtaW46cGFzc3dvcmQ=").status_code == 200  # admin

    # A logged-in browser sends its session cookie: sessions, the user and messages are back,
    # and DRF's session authentication finds the user.
    browser = Client()
    browser.force_login(get_user_model().objects.get(username="admin"),
                        backend="django.contrib.auth.backends.ModelBackend")
    response = browser.get(url)
    assert response.status_code == 200
    assert response.wsgi_request.session.session_key
    # The UI is never skipped, cookie or not.
    assert hasattr(Client().get("/ui/login/").wsgi_request, "session")
