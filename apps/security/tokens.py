"""Access tokens: shown once, stored as a sha256 digest, usable as a password or a Bearer token,
optionally scoped (read-only, or limited to some repositories)."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .models import AccessToken, AccessTokenScope

TOKEN_PREFIX = "rmt_"
_SCOPE_ATTR = "_repomgr_token_scope"


@dataclass
class TokenScope:
    """The limits of the token a request authenticated with; authorize() applies them."""

    read_only: bool
    repository_keys: frozenset[str]  # empty = not limited
    owner_is_admin: bool
    _expanded: set[int] | None = field(default=None, repr=False)

    def covers(self, repository) -> bool:
        if not self.repository_keys:
            return True
        if self._expanded is None:
            self._expanded = self._expand()
        return repository.pk in self._expanded

    def permits(self, action: str, repository) -> bool:
        return (not self.read_only or action == "read") and self.covers(repository)

    def _expand(self) -> set[int]:
        """The named repositories plus what the named virtual ones read from and deploy to."""
        from apps.repositories.models import Repository
        from apps.repositories.selectors import resolution_order

        named = list(Repository.objects.select_related("default_deployment_repo")
                     .filter(key__in=self.repository_keys))
        ids = {r.pk for r in named}
        for repository in (r for r in named if r.is_virtual):
            ids.update(member.pk for member in resolution_order(repository))
            if repository.default_deployment_repo_id:
                ids.add(repository.default_deployment_repo_id)
        return ids


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(secret: str) -> bool:
    return secret.startswith(TOKEN_PREFIX)


@transaction.atomic
def token_create(*, user, description: str = "", expires: datetime | None = None,
                 read_only: bool = False, repositories: list[str] | None = None) -> tuple[AccessToken, str]:
    """Create a token for ``user``; returns the row and the secret, which is never stored.

    Raises ValueError for an unknown repository key in ``repositories``.
    """
    from apps.repositories.models import Repository

    keys = sorted(set(repositories or []))
    unknown = set(keys) - set(Repository.objects.filter(key__in=keys).values_list("key", flat=True))
    if unknown:
        raise ValueError(f"unknown repositories: {', '.join(sorted(unknown))}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        token_id=uuid.uuid4().hex, digest=token_digest(secret), user=user,
        description=description, expires=expires)
    if read_only or keys:
        AccessTokenScope.objects.create(token=token, read_only=read_only, repositories=keys)
    return token, secret


def token_user(secret: str):
    """The active user a token secret belongs to, or None if unknown, expired or disabled.

    A scoped token's user carries its TokenScope, and is no administrator in this request
    (every ``is_superuser`` check anywhere then sees a plain user; authorize() alone lets an
    admin's scoped token act as admin inside the scope).
    """
    token = (AccessToken.objects.select_related("user", "scope")
             .filter(digest=token_digest(secret)).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires is not None and token.expires <= now:
        return None
    # Recording use is best effort and at most once a minute, to keep hot paths write-free.
    if token.last_used is None or (now - token.last_used).total_seconds() > 60:
        AccessToken.objects.filter(pk=token.pk).update(last_used=now)
    user = token.user
    scope = getattr(token, "scope", None)
    if scope is not None:
        setattr(user, _SCOPE_ATTR, TokenScope(read_only=scope.read_only,
                                              repository_keys=frozenset(scope.repositories),
                                              owner_is_admin=user.is_superuser))
        user.is_superuser = user.is_staff = False
    return user


def token_scope(user) -> TokenScope | None:
    """The scope of the token ``user`` authenticated with in this request, if it has one."""
    return getattr(user, _SCOPE_ATTR, None)


def tokens_visible(*, user):
    """The tokens ``user`` may see: their own; an administrator's session sees everyone's."""
    listed = AccessToken.objects.select_related("user", "scope")
    if not (user.is_superuser and user.is_active):
        listed = listed.filter(user=user)
    return listed


def token_revoke(*, token_id: str, user=None) -> bool:
    """Delete a token by id (only ``user``'s when given). Returns whether one was deleted."""
    tokens = AccessToken.objects.filter(token_id=token_id)
    if user is not None:
        tokens = tokens.filter(user=user)
    return tokens.delete()[0] > 0
