"""Slowing down password guessing: after too many failed logins from one client address in a
window, every login from that address is refused for a while. Counts live in the database, so
all web nodes share them. A client that already proved its credentials keeps working."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import Throttled

from apps.audit.context import current
from apps.audit.services import audit_record

from .models import LoginFailures


class LoginLocked(Throttled):
    default_detail = "Too many failed logins from your address"

    def __init__(self, wait: float):
        seconds = max(1, int(wait) + 1)
        super().__init__(wait=seconds, detail=f"Too many failed logins from your address; "
                                              f"try again in {seconds} seconds")


def _source() -> str | None:
    return current().client_address


def login_check(source: str | None = None) -> None:
    """Raise LoginLocked when logins from the current client address are locked."""
    source = source or _source()
    if not source:
        return
    until = (LoginFailures.objects.filter(source=source, locked_until__gt=timezone.now())
             .values_list("locked_until", flat=True).first())
    if until is not None:
        raise LoginLocked((until - timezone.now()).total_seconds())


def login_failed(source: str | None = None) -> bool:
    """Count a failed login from the current client address; returns whether this failure
    locked the address. Every failed django authenticate() arrives here through the
    user_login_failed signal; token failures are counted by their authentication class."""
    source = source or _source()
    if not source:
        return False
    now = timezone.now()
    with transaction.atomic():
        row = _locked_row(source, now)
        if (now - row.window_start).total_seconds() > settings.LOGIN_FAILURE_WINDOW:
            row.failures, row.window_start = 0, now
        row.failures += 1
        locked = row.failures >= settings.LOGIN_MAX_FAILURES
        if locked:
            row.failures, row.window_start = 0, now
            row.locked_until = now + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
        row.save()
    if locked:
        audit_record("login.lockout", target=source, success=False,
                     detail={"seconds": settings.LOGIN_LOCKOUT_SECONDS})
    return locked


def login_failures_prune() -> int:
    """Forget addresses whose count window and lock are both over; returns how many."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    return (LoginFailures.objects.filter(window_start__lt=stale)
            .exclude(locked_until__gt=now).delete()[0])


def on_login_failed(sender, credentials, request=None, **kwargs):
    if "password" in credentials:  # not an SSO assertion that was refused
        login_failed()


class LockoutBackend:
    """First in AUTHENTICATION_BACKENDS: while the client's address is locked, no backend
    even looks at the password (the admin login form, the UI, Basic auth alike)."""

    def authenticate(self, request, **credentials):
        if "password" not in credentials:  # single sign-on: no password to guess here
            return None
        try:
            login_check()
        except LoginLocked:
            raise PermissionDenied("locked") from None
        return None

    def get_user(self, user_id):
        return None


def _locked_row(source: str, now) -> LoginFailures:
    for _ in range(2):
        row = LoginFailures.objects.select_for_update().filter(source=source).first()
        if row is not None:
            return row
        try:
            with transaction.atomic():
                return LoginFailures.objects.create(source=source, window_start=now)
        except IntegrityError:  # another node inserted it first
            continue
    raise RuntimeError("login failure row vanished")
