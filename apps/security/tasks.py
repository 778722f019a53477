"""Celery tasks of security (scheduled by django-celery-beat; see `bootstrap`)."""

from celery import shared_task
from django.conf import settings

from .throttle import login_failures_prune


@shared_task(name="security.prune_login_failures")
def prune_login_failures() -> int:
    return login_failures_prune()


@shared_task(name="security.sync_directory_users")
def sync_directory_users() -> dict[str, int]:
    if "apps.security.ldap.DirectoryBackend" not in settings.AUTHENTICATION_BACKENDS:
        return {}
    from .ldap import directory_users_sync

    return directory_users_sync()
