"""Writes of users, groups and permission targets."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from apps.repositories.models import Repository

from .models import ACTIONS, ExternalIdentity, PermissionGrant, PermissionTarget

ANY_LOCAL, ANY_REMOTE, ANY = "ANY LOCAL", "ANY REMOTE", "ANY"


@transaction.atomic
def user_save(*, name: str, email: str | None = None, password: str | None = None,
              admin: bool | None = None, groups: list[str] | None = None, active: bool | None = None):
    """Create or update a local user; only the given fields change. Unknown groups are created."""
    user, _ = get_user_model().objects.get_or_create(username=name)
    if email is not None:
        user.email = email
    if password is not None:
        user.set_password(password)
    if admin is not None:
        user.is_superuser = user.is_staff = admin
    if active is not None:
        user.is_active = active
    user.save()
    if groups is not None:
        user.groups.set([Group.objects.get_or_create(name=group)[0] for group in groups])
    return user


@transaction.atomic
def group_save(*, name: str, users: list[str] | None = None) -> Group:
    """Create or update a group; ``users`` (when given) replaces its members (unknown names fail)."""
    group, _ = Group.objects.get_or_create(name=name)
    if users is not None:
        found = list(get_user_model().objects.filter(username__in=users))
        missing = set(users) - {u.username for u in found}
        if missing:
            raise ValueError(f"unknown users: {', '.join(sorted(missing))}")
        group.user_set.set(found)
    return group


@transaction.atomic
def permission_target_save(*, name: str, repositories: list[str], include_patterns: list[str],
                           exclude_patterns: list[str], users: dict[str, list[str]],
                           groups: dict[str, list[str]]) -> PermissionTarget:
    """Create or replace a permission target from its v2 description.

    ``users``/``groups`` map names to actions (read, annotate, deploy, delete, manage).
    Raises ValueError naming anything unknown.
    """
    target, _ = PermissionTarget.objects.get_or_create(name=name)
    named = [key for key in repositories if key not in (ANY, ANY_LOCAL, ANY_REMOTE)]
    found = list(Repository.objects.filter(key__in=named))
    _require_all(named, {r.key for r in found}, "repositories")
    target.any_local = ANY in repositories or ANY_LOCAL in repositories
    target.any_remote = ANY in repositories or ANY_REMOTE in repositories
    target.include_patterns = ",".join(include_patterns) or "**"
    target.exclude_patterns = ",".join(exclude_patterns)
    target.save()
    target.repositories.set(found)
    target.grants.all().delete()
    user_model = get_user_model()
    for principals, model, field in ((users, user_model, "username"), (groups, Group, "name")):
        rows = {getattr(p, field): p for p in model.objects.filter(**{f"{field}__in": list(principals)})}
        _require_all(list(principals), set(rows), "users" if model is user_model else "groups")
        for principal_name, actions in principals.items():
            unknown = set(actions) - set(ACTIONS)
            if unknown:
                raise ValueError(f"unknown actions: {', '.join(sorted(unknown))}")
            owner = {"user": rows[principal_name]} if model is user_model else {"group": rows[principal_name]}
            PermissionGrant.objects.create(target=target, **owner,
                                           **{action: action in actions for action in ACTIONS})
    return target


def _require_all(wanted: list[str], found: set[str], what: str) -> None:
    missing = set(wanted) - found
    if missing:
        raise ValueError(f"unknown {what}: {', '.join(sorted(missing))}")


def external_identity_record(*, user, realm: str) -> None:
    """Note that ``user`` just logged in through ``realm`` (ldap, saml)."""
    ExternalIdentity.objects.update_or_create(user=user, defaults={"realm": realm})
