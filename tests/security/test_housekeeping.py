"""Scheduled housekeeping of the security tables: old audit records and expired login-failure
counts are deleted, nothing current is."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.audit.models import AuditEvent
from apps.audit.tasks import prune
from apps.security.models import LoginFailures
from apps.security.tasks import prune_login_failures

pytestmark = pytest.mark.django_db(transaction=True)


def test_old_audit_records_are_deleted_recent_ones_kept(bootstrapped, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old, recent = AuditEvent.objects.create(action="login"), AuditEvent.objects.create(action="login")
    AuditEvent.objects.filter(pk=old.pk).update(time=timezone.now() - timedelta(days=31))
    assert prune() == 1
    assert AuditEvent.objects.filter(pk=recent.pk).exists() and not AuditEvent.objects.filter(pk=old.pk).exists()
    settings.AUDIT_RETENTION_DAYS = 0
    AuditEvent.objects.filter(pk=recent.pk).update(time=timezone.now() - timedelta(days=3650))
    assert prune() == 0


def test_expired_login_failures_are_forgotten_locks_in_force_are_kept(bootstrapped):
    now, long_ago = timezone.now(), timezone.now() - timedelta(days=1)
    LoginFailures.objects.create(source="192.0.2.1", failures=2, window_start=long_ago)
    LoginFailures.objects.create(source="192.0.2.2", failures=0, window_start=long_ago,
                                 locked_until=now + timedelta(minutes=5))
    LoginFailures.objects.create(source="192.0.2.3", failures=1, window_start=now)
    assert prune_login_failures() == 1
    assert set(LoginFailures.objects.values_list("source", flat=True)) == {"192.0.2.2", "192.0.2.3"}


def test_bootstrap_schedules_both_jobs(bootstrapped):
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"audit.prune", "security.prune_login_failures"} <= tasks
