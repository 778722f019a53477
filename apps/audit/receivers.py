"""What the audit log listens to. Model signals catch every path that changes these rows (the
REST APIs, every protocol, the admin site), so no write can forget to leave a record."""

from django.contrib.auth import signals as auth_signals
from django.db.models import signals

from .context import current
from .services import audit_record


def connect() -> None:
    from apps.packages.models import Artifact
    from apps.repositories.models import Repository
    from django.contrib.auth import get_user_model

    from apps.security.models import AccessToken, PermissionTarget, SecuritySettings

    auth_signals.user_logged_in.connect(_logged_in, dispatch_uid="audit.logged_in")
    auth_signals.user_logged_out.connect(_logged_out, dispatch_uid="audit.logged_out")
    auth_signals.user_login_failed.connect(_login_failed, dispatch_uid="audit.login_failed")
    for model, name in ((Repository, "repository"), (PermissionTarget, "permission")):
        signals.post_save.connect(_saved(name), sender=model, weak=False, dispatch_uid=f"audit.{name}.save")
        signals.post_delete.connect(_deleted(name), sender=model, weak=False,
                                    dispatch_uid=f"audit.{name}.delete")
    signals.post_save.connect(_saved("security_settings"), sender=SecuritySettings, weak=False,
                              dispatch_uid="audit.security_settings.save")
    signals.m2m_changed.connect(_memberships_changed, sender=get_user_model().groups.through,
                                dispatch_uid="audit.group_membership")
    signals.post_save.connect(_token_created, sender=AccessToken, dispatch_uid="audit.token.save")
    signals.post_delete.connect(_token_revoked, sender=AccessToken, dispatch_uid="audit.token.delete")
    signals.post_save.connect(_artifact_saved, sender=Artifact, dispatch_uid="audit.artifact.save")
    signals.post_delete.connect(_artifact_deleted, sender=Artifact, dispatch_uid="audit.artifact.delete")


def _logged_in(sender, request, user, **kwargs):
    audit_record("login", target=user.get_username(), actor=user.get_username(),
                 detail={"via": _backend_name(user)})


def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record("logout", target=user.get_username(), actor=user.get_username())


def _login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in ``credentials``; only the name is kept.
    username = str(credentials.get("username", ""))
    audit_record("login", target=username, actor=username, success=False)


def _backend_name(user) -> str:
    return getattr(user, "backend", "").rsplit(".", 1)[-1]


def _saved(name):
    def receiver(sender, instance, created, raw=False, **kwargs):
        if not raw:
            audit_record(f"{name}.{'create' if created else 'update'}", target=str(instance))
    return receiver


def _deleted(name):
    def receiver(sender, instance, **kwargs):
        audit_record(f"{name}.delete", target=str(instance))
    return receiver


def _memberships_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """Group memberships decide permissions, so each change is recorded, from either side."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    others = sorted(str(o) for o in model.objects.filter(pk__in=pk_set or ()))
    change = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    if reverse:  # group.user_set.add(users...)
        audit_record("group.members", target=str(instance), detail={change: others})
    else:  # user.groups.add(groups...)
        for group in others or [""]:
            audit_record("group.members", target=group, detail={change: [str(instance)]})


def _token_created(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        audit_record("token.create", target=instance.user.get_username(),
                     detail={"token_id": instance.token_id, "description": instance.description,
                             "expires": instance.expires.isoformat() if instance.expires else None})


def _token_revoked(sender, instance, **kwargs):
    audit_record("token.revoke", target=instance.user.get_username(),
                 detail={"token_id": instance.token_id})


def _artifact_where(instance) -> str:
    return f"{instance.repository.key}/{instance.path}"


def _artifact_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw or (update_fields and "blob" not in update_fields):
        return
    if instance.repository.is_remote:  # filling a remote cache is not a deploy
        return
    audit_record("artifact.deploy", target=_artifact_where(instance),
                 actor=instance.modified_by or current().actor,
                 detail={"sha256": instance.blob.sha256, "overwrite": not created})


def _artifact_deleted(sender, instance, **kwargs):
    audit_record("artifact.delete", target=_artifact_where(instance))
