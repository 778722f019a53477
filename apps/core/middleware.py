"""Django's browser middleware (sessions, the logged-in user, messages), left out of protocol
requests that carry no session cookie.

pip, uv, twine, docker and CI scripts never send a session cookie, and every view under the
protocol prefixes is a DRF view that authenticates by itself (Basic, Bearer, registry tokens;
a browser's session through DRF's SessionAuthentication, which finds no user when this
middleware stood aside). Their thousands of requests a minute then skip three middleware
that would create a lazy session, a lazy anonymous user and a message store nobody reads.
A request with the session cookie (a logged-in browser) gets them all. CSRF middleware always
runs: its protection must not depend on which cookies an attacker's page makes a browser send.
"""

from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions

# Every route under these is a DRF view (tests/core/test_middleware.py checks).
PROTOCOL_PREFIXES = ("/v2/", "/api/", "/artifactory/api/")


def _sessionless_protocol_request(request) -> bool:
    found = getattr(request, "_sessionless_protocol", None)
    if found is None:
        found = request._sessionless_protocol = (
            request.path_info.startswith(PROTOCOL_PREFIXES)
            and settings.SESSION_COOKIE_NAME not in request.COOKIES)
    return found


class _BrowserOnly:
    def __call__(self, request):
        if _sessionless_protocol_request(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_BrowserOnly, sessions.SessionMiddleware):
    pass


class AuthenticationMiddleware(_BrowserOnly, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(_BrowserOnly, messages.MessageMiddleware):
    pass
