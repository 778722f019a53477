from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from apps.core.config_cache import ConfigQuerySet

ACTIONS = ("read", "annotate", "deploy", "delete", "manage")
ANONYMOUS_USERNAME = "anonymous"


class SecuritySettings(models.Model):
    """Instance-wide security settings (a single row)."""

    objects = ConfigQuerySet.as_manager()

    anonymous_access = models.BooleanField(
        default=True,
        help_text="Let unauthenticated clients do what permission targets grant the 'anonymous' user.")

    class Meta:
        verbose_name = verbose_name_plural = "security settings"

    def __str__(self) -> str:
        return "Security settings"

    @classmethod
    def load(cls) -> "SecuritySettings":
        return cls.objects.get_or_create(pk=1)[0]


class PermissionTarget(models.Model):
    """Which repositories and paths a set of users and groups may act on, and how."""

    objects = ConfigQuerySet.as_manager()

    name = models.CharField(max_length=128, unique=True)
    repositories = models.ManyToManyField("repositories.Repository", blank=True,
                                          related_name="permission_targets")
    any_local = models.BooleanField(default=False, help_text="Also every local repository.")
    any_remote = models.BooleanField(default=False, help_text="Also every remote repository.")
    include_patterns = models.TextField(default="**", help_text="Ant-style, comma or newline separated.")
    exclude_patterns = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PermissionGrant(models.Model):
    """The actions one user or one group holds in a permission target."""

    objects = ConfigQuerySet.as_manager()

    target = models.ForeignKey(PermissionTarget, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="permission_grants")
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="permission_grants")
    read = models.BooleanField(default=True)
    annotate = models.BooleanField(default=False)
    deploy = models.BooleanField(default=False)
    delete = models.BooleanField(default=False)
    manage = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False, group__isnull=True)
                           | models.Q(user__isnull=True, group__isnull=False)),
                name="grant_user_xor_group"),
            models.UniqueConstraint(fields=["target", "user"], name="grant_user_once"),
            models.UniqueConstraint(fields=["target", "group"], name="grant_group_once"),
        ]

    def __str__(self) -> str:
        who = self.user or self.group
        return f"{self.target}: {who} {','.join(self.actions)}"

    @property
    def actions(self) -> frozenset[str]:
        if self.manage:
            return frozenset(ACTIONS)
        return frozenset(action for action in ACTIONS if getattr(self, action))


class AccessToken(models.Model):
    """A secret a client presents instead of a password; only its sha256 is kept."""

    token_id = models.CharField(max_length=32, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="access_tokens")
    description = models.CharField(max_length=256, blank=True)
    expires = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.user} token {self.token_id}"

    def scope_or_none(self) -> "AccessTokenScope | None":
        return getattr(self, "scope", None)


class AccessTokenScope(models.Model):
    """What a token may do beyond being its owner: nothing beyond reading (``read_only``),
    and/or only in the listed repositories. A token without a scope row acts as its owner."""

    token = models.OneToOneField(AccessToken, on_delete=models.CASCADE, related_name="scope")
    read_only = models.BooleanField(default=False)
    # Repository keys; empty = every repository the owner may use. Keys never change.
    repositories = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        parts = ["read-only"] if self.read_only else []
        if self.repositories:
            parts.append("repositories: " + ", ".join(self.repositories))
        return "; ".join(parts) or "owner's permissions"


class LoginFailures(models.Model):
    """Failed logins counted per client address, in the database so that every web node sees
    the same count and the same lock."""

    source = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name_plural = "login failures"

    def __str__(self) -> str:
        return f"{self.source}: {self.failures}"


class ExternalIdentity(models.Model):
    """Where an account comes from when not from repomgr itself: the directory or the SSO."""

    class Realm(models.TextChoices):
        LDAP = "ldap"
        SAML = "saml"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="external_identity")
    realm = models.CharField(max_length=16, choices=Realm.choices)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "external identities"

    def __str__(self) -> str:
        return f"{self.user} ({self.realm})"
