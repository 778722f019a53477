"""Writing audit records, and forgetting old ones."""

from datetime import timedelta

from django.utils import timezone

from .context import current
from .models import AuditEvent

# Keys whose values are never recorded, whatever a caller passes in ``detail``.
_SECRET_WORDS = ("password", "secret", "token", "credential", "key", "authorization", "cookie")


def _scrub(detail: dict) -> dict:
    clean = {}
    for key, value in detail.items():
        if any(word in key.lower() for word in _SECRET_WORDS) and key not in ("token_id", "repo_key"):
            continue
        clean[key] = _scrub(value) if isinstance(value, dict) else value
    return clean


def audit_record(action: str, *, target: str = "", success: bool = True, actor: str | None = None,
                 detail: dict | None = None) -> AuditEvent:
    """Record ``action`` by the current request's actor and client address (or ``actor``).

    ``detail`` keys that look like they could carry a secret are dropped.
    """
    context = current()
    return AuditEvent.objects.create(
        action=action, target=target[:1200], success=success,
        actor=(context.actor if actor is None else actor)[:150],
        client_address=context.client_address, detail=_scrub(detail or {}))


def audit_prune(*, older_than_days: int) -> int:
    """Delete records older than ``older_than_days`` (0 keeps everything); returns how many."""
    if older_than_days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return AuditEvent.objects.filter(time__lt=cutoff).delete()[0]
