"""Access tokens: shown once, stored as a sha256 digest, usable as a password or a Bearer token."""

import hashlib
import secrets
import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .models import AccessToken

TOKEN_PREFIX = "rmt_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(secret: str) -> bool:
    return secret.startswith(TOKEN_PREFIX)


@transaction.atomic
def token_create(*, user, description: str = "", expires: datetime | None = None) -> tuple[AccessToken, str]:
    """Create a token for ``user``; returns the row and the secret, which is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        token_id=uuid.uuid4().hex, digest=token_digest(secret), user=user,
        description=description, expires=expires)
    return token, secret


def token_user(secret: str):
    """The active user a token secret belongs to, or None if unknown, expired or disabled."""
    token = (AccessToken.objects.select_related("user")
             .filter(digest=token_digest(secret)).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires is not None and token.expires <= now:
        return None
    # Recording use is best effort and at most once a minute, to keep hot paths write-free.
    if token.last_used is None or (now - token.last_used).total_seconds() > 60:
        AccessToken.objects.filter(pk=token.pk).update(last_used=now)
    return token.user


def token_revoke(*, token_id: str, user=None) -> bool:
    """Delete a token by id (only ``user``'s when given). Returns whether one was deleted."""
    tokens = AccessToken.objects.filter(token_id=token_id)
    if user is not None:
        tokens = tokens.filter(user=user)
    return tokens.delete()[0] > 0
