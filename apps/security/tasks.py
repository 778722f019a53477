"""Celery tasks of security (scheduled by django-celery-beat; see `bootstrap`)."""

from celery import shared_task

from .throttle import login_failures_prune


@shared_task(name="security.prune_login_failures")
def prune_login_failures() -> int:
    return login_failures_prune()
