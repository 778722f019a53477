"""Test data built through the project's own services."""

from apps.repositories.models import Repository
from apps.repositories.services import repository_create
from apps.security.services import group_save, permission_target_save, user_save


def make_user(name: str, password: str = "secret-pass", *, groups: list[str] | None = None,
              admin: bool = False):
    return user_save(name=name, password=password, groups=groups or [], admin=admin)


def make_group(name: str, users: list[str] | None = None):
    return group_save(name=name, users=users)


def grant(name: str, *, repositories: list[str], users: dict[str, list[str]] | None = None,
          groups: dict[str, list[str]] | None = None, include: list[str] | None = None,
          exclude: list[str] | None = None):
    """A permission target; actions are read, annotate, deploy, delete, manage."""
    return permission_target_save(name=name, repositories=repositories,
                                  include_patterns=include or ["**"], exclude_patterns=exclude or [],
                                  users=users or {}, groups=groups or {})


def make_repository(key: str, rclass: str = "local", package_type: str = "generic", *,
                    members: list[str] | None = None, deploy_to: str | None = None, **fields) -> Repository:
    member_rows = [Repository.objects.get(key=k) for k in members or []]
    deployment = Repository.objects.get(key=deploy_to) if deploy_to else None
    return repository_create(key=key, rclass=rclass, package_type=package_type,
                             members=member_rows, default_deployment_repo=deployment, **fields)
