"""Registry tables. Bytes (layers, configs and the manifest documents themselves) are Artifacts
of the storage core, at paths laid out in ``layout.py``; these tables add what the registry
protocol needs to answer quickly: manifests by digest, tags, referrers and upload sessions."""

import uuid

from django.db import models


class Manifest(models.Model):
    """A manifest or index pushed to (or cached in) a repository under an image name."""

    repository = models.ForeignKey("repositories.Repository", on_delete=models.CASCADE,
                                   related_name="docker_manifests")
    name = models.CharField(max_length=255)
    digest = models.CharField(max_length=140)
    artifact = models.ForeignKey("packages.Artifact", on_delete=models.CASCADE,
                                 related_name="docker_manifests")
    media_type = models.CharField(max_length=255)
    artifact_type = models.CharField(max_length=255, blank=True)
    subject_digest = models.CharField(max_length=140, blank=True, db_index=True)
    annotations = models.JSONField(default=dict, blank=True)
    size = models.BigIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "name", "digest"],
                                    name="docker_manifest_once"),
        ]
        indexes = [models.Index(fields=["repository", "name"])]

    def __str__(self) -> str:
        return f"{self.repository_id}:{self.name}@{self.digest}"


class ManifestReference(models.Model):
    """A digest a manifest points at: a layer, its config, or a child manifest of an index."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="references")
    digest = models.CharField(max_length=140, db_index=True)


class Tag(models.Model):
    repository = models.ForeignKey("repositories.Repository", on_delete=models.CASCADE,
                                   related_name="docker_tags")
    name = models.CharField(max_length=255)
    tag = models.CharField(max_length=128)
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="tags")
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "name", "tag"], name="docker_tag_once"),
        ]

    def __str__(self) -> str:
        return f"{self.repository_id}:{self.name}:{self.tag}"


class UploadSession(models.Model):
    """A blob upload in progress. Its chunks are parts in the blob store (any node can take
    the next request); ``hashed_*`` keep the digests of a body received in one piece so the
    closing PUT need not read it again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    repository = models.ForeignKey("repositories.Repository", on_delete=models.CASCADE,
                                   related_name="docker_uploads")
    name = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True, db_index=True)
    size = models.BigIntegerField(default=0)
    parts = models.PositiveIntegerField(default=0)
    hashed_size = models.BigIntegerField(null=True, blank=True)
    hashed_digests = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"upload {self.id} to {self.repository_id}:{self.name}"
