"""Idempotent first-run setup: the admin user, anonymous read, the default repositories and
the scheduled jobs. Running it again changes nothing an administrator has edited, and never
brings back a default repository an administrator deleted."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.repositories.models import Repository
from apps.repositories.services import repository_create
from apps.security.models import ANONYMOUS_USERNAME, PermissionGrant, PermissionTarget, SecuritySettings

LOCAL, REMOTE, VIRTUAL = Repository.RClass.LOCAL, Repository.RClass.REMOTE, Repository.RClass.VIRTUAL
DEFAULT_REPOSITORIES = [
    # key, class, package type, upstream, members (the first member takes deploys)
    ("pypi-local", LOCAL, "pypi", "", []),
    ("pypi-remote", REMOTE, "pypi", "https://pypi.org", []),
    ("pypi", VIRTUAL, "pypi", "", ["pypi-local", "pypi-remote"]),
    ("docker-local", LOCAL, "docker", "", []),
    ("docker-remote", REMOTE, "docker", "https://registry-1.docker.io", []),
    ("docker", VIRTUAL, "docker", "", ["docker-local", "docker-remote"]),
    ("generic-local", LOCAL, "generic", "", []),
]
SCHEDULES = [
    # name, task, every (hours)
    ("Collect unreferenced blobs", "packages.collect_garbage", 4),
    ("Collect docker uploads and unused layers", "docker.collect_garbage", 4),
    ("Complete blob checksums", "packages.complete_checksums", 1),
    ("Forget expired login failures", "security.prune_login_failures", 1),
    ("Refresh directory accounts", "security.sync_directory_users", 1),
    ("Delete old audit records", "audit.prune", 24),
]


class Command(BaseCommand):
    help = "Create the admin user, default repositories and scheduled jobs (safe to re-run)."

    @transaction.atomic
    def handle(self, *args, **options):
        self._admin()
        fresh_install = not SecuritySettings.objects.exists()
        self._anonymous()
        if fresh_install:
            for spec in DEFAULT_REPOSITORIES:
                self._repository(*spec)
        for spec in SCHEDULES:
            self._schedule(*spec)

    def _admin(self):
        users = get_user_model().objects
        if users.filter(username="admin").exists():
            return
        users.create_superuser("admin", "", settings.ADMIN_PASSWORD)
        self.stdout.write("Created user 'admin'.")
        if settings.ADMIN_PASSWORD == "password":
            self.stderr.write(self.style.WARNING(
                "WARNING: 'admin' has the default password; set REPOMGR_ADMIN_PASSWORD "
                "or change it before anyone else can reach this server."))

    def _anonymous(self):
        """On a fresh install anonymous clients may read every local and remote repository."""
        if SecuritySettings.objects.exists():
            return
        SecuritySettings.objects.create(pk=1, anonymous_access=True)
        anonymous, _ = get_user_model().objects.get_or_create(
            username=ANONYMOUS_USERNAME, defaults={"is_active": False})
        anonymous.set_unusable_password()
        anonymous.save()
        target, _ = PermissionTarget.objects.get_or_create(
            name="Anything", defaults={"any_local": True, "any_remote": True})
        PermissionGrant.objects.get_or_create(target=target, user=anonymous, defaults={"read": True})
        self.stdout.write("Anonymous read access enabled (permission target 'Anything').")

    def _repository(self, key, rclass, package_type, url, member_keys):
        if Repository.objects.filter(key=key).exists():
            return
        members = [Repository.objects.get(key=k) for k in member_keys]
        repository_create(key=key, rclass=rclass, package_type=package_type, url=url,
                          members=members, default_deployment_repo=members[0] if members else None)
        self.stdout.write(f"Created repository '{key}'.")

    def _schedule(self, name, task, hours):
        every, _ = IntervalSchedule.objects.get_or_create(every=hours, period=IntervalSchedule.HOURS)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": every})
