"""authorize(): the one function that decides every access.

A user's rules (their own grants and their groups' grants) are loaded in one query and kept
per process until configuration changes (apps.core.config_cache); every decision is in memory.
"""

import hashlib
from dataclasses import dataclass

from django.db.models import Q
from rest_framework.exceptions import NotAuthenticated

from apps.core.config_cache import cached
from apps.core.errors import Forbidden
from apps.repositories.patterns import path_allowed, split_patterns

from .models import ACTIONS, ANONYMOUS_USERNAME, PermissionGrant, SecuritySettings
from .tokens import token_scope

_CACHE_ATTR = "_repomgr_rules"


@dataclass(frozen=True)
class Rule:
    repository_ids: frozenset[int]
    any_local: bool
    any_remote: bool
    includes: str
    excludes: str
    actions: frozenset[str]

    def covers(self, repository) -> bool:
        return (repository.pk in self.repository_ids
                or (self.any_local and repository.is_local)
                or (self.any_remote and repository.is_remote))

    def allows(self, action: str, repository, path: str) -> bool:
        return (action in self.actions and self.covers(repository)
                and path_allowed(path, self.includes, self.excludes))


def authorize(user, action: str, repository, path: str = "") -> bool:
    """May ``user`` perform ``action`` on ``path`` (a file or folder path, '' = the root) in
    ``repository``? Superusers may do anything; virtual repositories answer for their members
    (read, annotate) or their default deployment repository (deploy, delete). A scoped access
    token narrows all of this to its scope."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    scope = token_scope(user)
    if scope is not None and not scope.permits(action, repository):
        return False
    if _acts_as_admin(user, scope):
        return True
    if repository.is_virtual:
        return _authorize_virtual(user, action, repository, path)
    return any(rule.allows(action, repository, path) for rule in rules_for(user))


def _acts_as_admin(user, scope) -> bool:
    """An active superuser, or (inside its scope) a scoped token of one: token_user() clears
    ``is_superuser`` for a scoped token's request, so the scope remembers the owner was one."""
    return ((getattr(user, "is_superuser", False) or (scope is not None and scope.owner_is_admin))
            and user.is_active)


def _authorize_virtual(user, action, repository, path) -> bool:
    if action in ("deploy", "delete"):
        target = repository.default_deployment_repo
        return target is not None and not target.is_virtual and authorize(user, action, target, path)
    if action == "manage":
        return False
    from apps.repositories.selectors import resolution_order

    return any(authorize(user, action, member, path) for member in resolution_order(repository))


def may_read_somewhere(user, repository) -> bool:
    """Whether any path of ``repository`` is readable: enough to list the repository itself."""
    scope = token_scope(user)
    if scope is not None and not scope.covers(repository):
        return False
    if _acts_as_admin(user, scope):
        return True
    if repository.is_virtual:
        from apps.repositories.selectors import resolution_order

        return any(may_read_somewhere(user, member) for member in resolution_order(repository))
    return any("read" in rule.actions and rule.covers(repository) for rule in rules_for(user))


def read_restriction(user, repository) -> str:
    """'' when ``user`` may read every path of the (non-virtual) ``repository``; otherwise a
    short key of the path patterns that decide which paths (the same key means the same
    answers), so that a listing filtered for one caller can be reused for another."""
    if _acts_as_admin(user, token_scope(user)):
        return ""
    rules = [rule for rule in rules_for(user) if "read" in rule.actions and rule.covers(repository)]
    if any(split_patterns(rule.includes) in ((), ("**",)) and not split_patterns(rule.excludes)
           for rule in rules):
        return ""
    decisive = sorted({(rule.includes, rule.excludes) for rule in rules})
    return hashlib.sha256(repr(decisive).encode()).hexdigest()[:16]


def rules_for(user) -> list[Rule]:
    rules = getattr(user, _CACHE_ATTR, None)
    if rules is None:
        # Rules are immutable: one list serves every request of the process until a change.
        rules = cached(("rules", user.pk if user.is_authenticated else None), lambda: _load_rules(user))
        try:
            setattr(user, _CACHE_ATTR, rules)
        except AttributeError:
            pass
    return rules


def _load_rules(user) -> list[Rule]:
    if not user.is_authenticated:
        if not SecuritySettings.load().anonymous_access:
            return []
        grants = PermissionGrant.objects.filter(user__username=ANONYMOUS_USERNAME)
    elif not user.is_active:
        return []
    else:
        grants = PermissionGrant.objects.filter(Q(user=user) | Q(group__user=user)).distinct()
    # One query: a row per grant and repository of its target (one row with None when the
    # target names no repository).
    rows = grants.values_list("pk", "target__any_local", "target__any_remote", "target__include_patterns",
                              "target__exclude_patterns", *ACTIONS, "target__repositories__id")
    by_grant: dict[int, tuple] = {}
    for pk, *fields, repository_id in rows:
        repository_ids = by_grant.setdefault(pk, (fields, set()))[1]
        if repository_id is not None:
            repository_ids.add(repository_id)
    return [
        Rule(
            repository_ids=frozenset(repository_ids),
            any_local=any_local,
            any_remote=any_remote,
            includes=includes,
            excludes=excludes,
            actions=PermissionGrant(**dict(zip(ACTIONS, flags))).actions,
        )
        for (any_local, any_remote, includes, excludes, *flags), repository_ids in by_grant.values()
    ]


def require(user, action: str, repository, path: str = "") -> None:
    """authorize() or raise: 401 for an anonymous caller, 403 for an authenticated one."""
    if not authorize(user, action, repository, path):
        deny(user, action, repository.key)


def require_each(user, action: str, repository, paths) -> None:
    """require() on every one of ``paths``: a folder or release is acted on as a whole only when
    each file in it may be (a permission target may exclude some of them)."""
    for path in paths:
        require(user, action, repository, path)


def deny(user, action: str, where: str):
    if not user.is_authenticated:
        raise NotAuthenticated("Authentication is required")
    raise Forbidden(f"User '{user.get_username()}' is not permitted to {action} in '{where}'")
