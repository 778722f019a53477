"""`manage.py bootstrap` (run by every `make run`): the first run creates the admin, anonymous
read, the default repositories and the schedules; later runs change nothing an administrator
has edited."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from apps.repositories.models import Repository, VirtualMember
from apps.security.models import PermissionTarget, SecuritySettings

pytestmark = pytest.mark.django_db(transaction=True)

DEFAULTS = {"pypi-local": ("local", "pypi"), "pypi-remote": ("remote", "pypi"), "pypi": ("virtual", "pypi"),
            "docker-local": ("local", "docker"), "docker-remote": ("remote", "docker"),
            "docker": ("virtual", "docker"), "generic-local": ("local", "generic")}


def bootstrap() -> str:
    out = io.StringIO()
    call_command("bootstrap", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot() -> tuple:
    return (sorted(Repository.objects.values_list("key", "rclass", "package_type", "url", "description")),
            sorted(VirtualMember.objects.values_list("virtual__key", "member__key", "position")),
            sorted(get_user_model().objects.values_list("username", "password", "is_superuser")),
            sorted(PermissionTarget.objects.values_list("name", "any_local", "any_remote")),
            sorted(PeriodicTask.objects.values_list("name", "task", "enabled")),
            SecuritySettings.load().anonymous_access)


def test_first_run_creates_the_fresh_install(settings):
    bootstrap()
    assert {r.key: (r.rclass, r.package_type) for r in Repository.objects.all()} == DEFAULTS
    assert Repository.objects.get(key="pypi").default_deployment_repo.key == "pypi-local"
    assert Repository.objects.get(key="docker").default_deployment_repo.key == "docker-local"
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(settings.ADMIN_PASSWORD)
    assert SecuritySettings.load().anonymous_access
    for task in ("packages.collect_garbage", "packages.complete_checksums", "docker.collect_garbage"):
        assert PeriodicTask.objects.filter(task=task, enabled=True).exists(), task


def test_running_again_changes_nothing(settings):
    bootstrap()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed-by-admin")
    admin.save()
    Repository.objects.filter(key="generic-local").update(description="edited")
    SecuritySettings.objects.filter(pk=1).update(anonymous_access=False)
    PeriodicTask.objects.filter(task="packages.collect_garbage").update(enabled=False)
    before = snapshot()
    assert bootstrap() == ""
    assert snapshot() == before
    assert get_user_model().objects.get(username="admin").check_password("changed-by-admin")


def test_a_deleted_default_repository_stays_deleted():
    bootstrap()
    Repository.objects.filter(key="docker").delete()
    Repository.objects.filter(key="generic-local").delete()
    bootstrap()
    assert not Repository.objects.filter(key__in=["docker", "generic-local"]).exists()
    assert Repository.objects.filter(key="docker-local").exists()
