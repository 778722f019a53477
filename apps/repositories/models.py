from django.db import models

from apps.core.config_cache import ConfigQuerySet

from .keys import validate_repository_key


class Repository(models.Model):
    """A local, remote or virtual repository of one package type."""

    objects = ConfigQuerySet.as_manager()

    class RClass(models.TextChoices):
        LOCAL = "local"
        REMOTE = "remote"
        VIRTUAL = "virtual"

    class PackageType(models.TextChoices):
        GENERIC = "generic"
        PYPI = "pypi"
        DOCKER = "docker"

    key = models.CharField(max_length=64, unique=True, validators=[validate_repository_key])
    rclass = models.CharField("class", max_length=16, choices=RClass.choices)
    package_type = models.CharField(max_length=16, choices=PackageType.choices,
                                    default=PackageType.GENERIC)
    description = models.CharField(max_length=1024, blank=True)
    notes = models.TextField(blank=True)
    includes_pattern = models.CharField(max_length=1024, default="**/*",
                                        help_text="Ant-style patterns, comma separated.")
    excludes_pattern = models.CharField(max_length=1024, blank=True)

    # Remote repositories
    url = models.URLField("upstream URL", max_length=1024, blank=True)
    username = models.CharField(max_length=256, blank=True)
    password = models.CharField(max_length=1024, blank=True,
                                help_text="Used only towards the upstream; never shown by the API.")
    metadata_retrieval_cache_secs = models.PositiveIntegerField(
        "metadata TTL (s)", default=600,
        help_text="How long index pages and tags stay fresh before they are checked again.")
    missed_retrieval_cache_secs = models.PositiveIntegerField(
        "missed-retrieval TTL (s)", default=300,
        help_text="How long an upstream 404 is remembered.")
    socket_timeout_secs = models.PositiveIntegerField(default=15)
    offline = models.BooleanField(default=False, help_text="Serve only what is cached.")
    store_artifacts_locally = models.BooleanField(default=True)

    # Virtual repositories
    members = models.ManyToManyField("self", through="VirtualMember", symmetrical=False,
                                     related_name="virtuals", blank=True)
    default_deployment_repo = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where deploys to this virtual repository go.")

    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.key

    @property
    def is_local(self) -> bool:
        return self.rclass == self.RClass.LOCAL

    @property
    def is_remote(self) -> bool:
        return self.rclass == self.RClass.REMOTE

    @property
    def is_virtual(self) -> bool:
        return self.rclass == self.RClass.VIRTUAL


class VirtualMember(models.Model):
    """One member of a virtual repository, at its place in the resolution order."""

    objects = ConfigQuerySet.as_manager()

    virtual = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="memberships")
    member = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["virtual", "member"], name="virtual_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.virtual.key} -> {self.member.key}"


class RemoteFetch(models.Model):
    """An upstream download in progress: at most one per (repository, path) across every
    process and node. Followers tail ``spool_path`` when they can see it, else wait."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=1024)
    owner = models.CharField(max_length=255)
    spool_path = models.CharField(max_length=1024, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    started = models.DateTimeField(auto_now_add=True)
    heartbeat = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "path"], name="one_fetch_per_path"),
        ]


class RemoteDocument(models.Model):
    """A cached upstream answer that can change (an index page, a tag): its bytes, when it was
    fetched, and a remembered 404 ("missed") until its TTL runs out."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=1024)
    status = models.PositiveSmallIntegerField(default=200)
    content_type = models.CharField(max_length=255, blank=True)
    body = models.BinaryField(default=b"")
    etag = models.CharField(max_length=255, blank=True)
    fetched = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "key"], name="one_document_per_key"),
        ]
