"""How clients prove who they are: HTTP Basic (password or access token), Bearer access
tokens, or the browser session. A wrong secret is a 401, never a silent fall-back to anonymous."""

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed

from apps.audit.services import audit_record
from apps.core.config_cache import cached_rows

from .throttle import login_check, login_failed
from .tokens import looks_like_token, token_user

REALM = "repomgr"
_VERIFIED_TTL = 60


def user_for_credentials(username: str, secret: str, request=None):
    """The user these credentials prove, or None.

    Password hashing is deliberately slow and pip asks for hundreds of pages per install, so a
    verified (username, secret) pair is remembered briefly under a keyed hash, never in clear.
    Failures count against the client's address; raises LoginLocked (429) once it is locked.
    """
    if looks_like_token(secret):
        user = token_user(secret)
        # '__token__' is the user name twine and PyPI use for tokens.
        if user is not None and username in ("", "__token__", user.get_username()):
            return user
        _token_refused("token", username)
        return None
    key = "cred:" + hmac.new(settings.SECRET_KEY.encode(), f"{username}\0{secret}".encode(),
                             hashlib.sha256).hexdigest()
    remembered = cache.get(key)
    if remembered is not None:
        user = cached_rows(("active user id", remembered[0]),
                           lambda: get_user_model().objects.filter(pk=remembered[0], is_active=True).first())
        if user is not None and user.password == remembered[1]:
            return user
    login_check()
    user = authenticate(request, username=username, password=secret)
    if user is not None and user.is_active:
        cache.set(key, (user.pk, user.password), _VERIFIED_TTL)
        audit_record("login", target=user.get_username(), actor=user.get_username(),
                     detail={"via": "basic"})
        return user
    login_check()  # the failure was counted; answer 429 if it was one too many
    return None


def _token_refused(via: str, username: str | None = None) -> None:
    """Audit a refused access token and count it against the client's address; raises
    LoginLocked when this failure locks the address. ``username`` None: the request's actor."""
    audit_record("login", target=username or "", actor=username, success=False, detail={"via": via})
    if login_failed():
        login_check()


def authorization_header(request) -> list[bytes]:
    """The Authorization header's words. Read from META: DRF's helper builds Django's whole
    request.headers mapping for it, on every request that passes an authentication class."""
    return request.META.get("HTTP_AUTHORIZATION", "").encode("latin-1").split()


class BasicAuthentication(authentication.BasicAuthentication):
    www_authenticate_realm = REALM

    def authenticate(self, request):
        words = authorization_header(request)
        return super().authenticate(request) if words and words[0].lower() == b"basic" else None

    def authenticate_credentials(self, userid, password, request=None):
        user = user_for_credentials(userid, password, request)
        if user is None:
            raise AuthenticationFailed("Bad credentials")
        return user, None


class BearerAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer rmt_...`` access tokens. Other bearer tokens are left to the
    protocol that issued them (the Docker registry's JWTs)."""

    def authenticate(self, request):
        header = authorization_header(request)
        if len(header) != 2 or header[0].lower() != b"bearer":
            return None
        secret = header[1].decode("latin-1")
        if not looks_like_token(secret):
            return None
        user = token_user(secret)
        if user is None:
            _token_refused("bearer")
            raise AuthenticationFailed("Invalid or expired token")
        return user, None


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser session (UI and admin), with DRF's CSRF enforcement on unsafe methods."""
