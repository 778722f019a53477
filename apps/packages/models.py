import mimetypes
import posixpath

from django.db import models


class Blob(models.Model):
    """Content-addressed bytes: stored once under their sha256 however many artifacts use them."""

    sha256 = models.CharField(max_length=64, unique=True)
    # Empty until known: Docker layers are stored sha256-only and completed by a task.
    sha1 = models.CharField(max_length=40, db_index=True, blank=True)
    md5 = models.CharField(max_length=32, db_index=True, blank=True)
    size = models.BigIntegerField()
    created = models.DateTimeField(auto_now_add=True)
    # Refreshed whenever the bytes are ingested again; garbage collection spares recent blobs
    # so it never races a deploy that is about to point an artifact at them.
    touched = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return f"sha256:{self.sha256}"

    @property
    def checksums(self) -> dict:
        """The checksums known so far (md5 and sha1 may still be being computed)."""
        known = {"sha1": self.sha1, "md5": self.md5, "sha256": self.sha256}
        return {name: value for name, value in known.items() if value}

    @property
    def has_all_checksums(self) -> bool:
        return bool(self.md5 and self.sha1)


class Artifact(models.Model):
    """A file in a repository: (repository, path) -> blob."""

    repository = models.ForeignKey("repositories.Repository", on_delete=models.CASCADE,
                                   related_name="artifacts")
    path = models.CharField(max_length=1024)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="artifacts")
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    modified = models.DateTimeField(auto_now=True)
    modified_by = models.CharField(max_length=150, blank=True)
    # Remote caches: where the bytes came from.
    remote_url = models.URLField(max_length=2048, blank=True)
    last_downloaded = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "path"], name="artifact_path_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.repository_id}:{self.path}"

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def mime_type(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


class Property(models.Model):
    """A key=value annotation on an artifact; a key may carry several values."""

    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="properties")
    key = models.CharField(max_length=255)
    value = models.CharField(max_length=2048, blank=True)

    class Meta:
        verbose_name_plural = "properties"
        constraints = [
            models.UniqueConstraint(fields=["artifact", "key", "value"], name="property_value_once"),
        ]
        indexes = [models.Index(fields=["key", "value"])]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
