"""Logins against the company directory (django-auth-ldap), with two rules of our own: local
accounts never wait for the directory, and an unreachable directory is a clear, quick error."""

from contextlib import contextmanager
from contextvars import ContextVar

import ldap
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django_auth_ldap.backend import LDAPBackend, ldap_error, valid_cache_key
from rest_framework.exceptions import APIException

from apps.audit.services import audit_record

from .models import ExternalIdentity
from .services import external_identity_record, user_save

# LDAP errors that mean "no answer from the directory", as opposed to "wrong password".
_UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.TIMELIMIT_EXCEEDED, ldap.CONNECT_ERROR)
_errors: ContextVar[list | None] = ContextVar("repomgr_ldap_errors", default=None)
# Once the directory failed to answer, logins fail at once for a while instead of each
# waiting out the timeout (pip sends hundreds of requests).
_DOWN_KEY = "repomgr:ldap:unreachable"


class DirectoryUnavailable(APIException):
    status_code = 503
    default_detail = ("The login directory (LDAP) cannot be reached; local accounts still work. "
                      "Try again later.")
    default_code = "directory_unavailable"


def _collect(sender, context, user, request, exception, **kwargs):
    collected = _errors.get()
    if collected is not None:
        collected.append(exception)


ldap_error.connect(_collect, dispatch_uid="repomgr.ldap.collect")


@contextmanager
def _ldap_errors():
    """Collect the LDAP errors django-auth-ldap reports (it logs them and returns None)."""
    collected: list = []
    token = _errors.set(collected)
    try:
        yield collected
    finally:
        _errors.reset(token)


def _forget_dn(username: str) -> None:
    # django-auth-ldap caches a failed DN search as "no such user": forget it, or the user
    # would get "bad credentials" for AUTH_LDAP_CACHE_TIMEOUT after an outage.
    cache.delete(valid_cache_key(f"django_auth_ldap.user_dn.{username.strip()}"))


class DirectoryBackend(LDAPBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        """The directory user these credentials prove, or None.

        A name that belongs to a local account with a password is left to the local backend.
        Raises DirectoryUnavailable when the directory does not answer.
        """
        if username and self._is_local_account(username):
            return None
        if cache.get(_DOWN_KEY):
            raise self._unavailable(username)
        with _ldap_errors() as errors:
            user = super().authenticate(request, username=username, password=password, **kwargs)
        if errors and username:
            _forget_dn(username)
        unreachable = [e for e in errors if isinstance(e, _UNREACHABLE)]
        if user is None and unreachable:
            cache.set(_DOWN_KEY, True, getattr(settings, "LDAP_RETRY_SECONDS", 30))
            raise self._unavailable(username)
        if user is not None:
            external_identity_record(user=user, realm=ExternalIdentity.Realm.LDAP)
        return user

    @staticmethod
    def _unavailable(username: str | None) -> DirectoryUnavailable:
        audit_record("login", target=username or "", actor=username or "", success=False,
                     detail={"via": "ldap", "error": "directory unreachable"})
        return DirectoryUnavailable()

    @staticmethod
    def _is_local_account(username: str) -> bool:
        user = get_user_model().objects.filter(username=username).only("password").first()
        return user is not None and user.has_usable_password()


def directory_users_sync() -> dict[str, int]:
    """Refresh every active directory account from the directory: attributes and groups are
    updated, and accounts the directory no longer has are deactivated (their access tokens
    stop working with them). Nothing is deactivated while the directory does not answer.
    Returns counts of refreshed and deactivated accounts."""
    backend = DirectoryBackend()
    counts = {"refreshed": 0, "deactivated": 0}
    identities = (ExternalIdentity.objects.select_related("user")
                  .filter(realm=ExternalIdentity.Realm.LDAP, user__is_active=True))
    for identity in identities:
        username = identity.user.get_username()
        _forget_dn(username)  # look the account up afresh
        with _ldap_errors() as errors:
            found = backend.populate_user(username)
        if errors:
            _forget_dn(username)
        if any(isinstance(e, _UNREACHABLE) for e in errors):
            break
        if found is None:
            user_save(name=username, active=False)
            audit_record("user.deactivate", target=username, detail={"reason": "not in the directory"})
            counts["deactivated"] += 1
        else:
            counts["refreshed"] += 1
    return counts
