"""PyPI facts kept beside the storage core: projects with their change serial, one row per
distribution file (core metadata, upload time, yanked), and the simple pages built from them."""

from django.db import models

from apps.packages.models import Artifact
from apps.repositories.models import Repository


class PypiProject(models.Model):
    """A project in a local repository. ``serial`` changes with every upload, yank or delete
    in the repository (a per-repository counter, like PyPI's last serial), so a page built for
    one serial is valid until the serial moves."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=255, help_text="PEP 503-normalised name.")
    display_name = models.CharField(max_length=255)
    serial = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="pypi_project_once"),
        ]
        indexes = [models.Index(fields=["repository", "serial"])]

    def __str__(self) -> str:
        return f"{self.repository_id}:{self.name}"


class PypiFile(models.Model):
    """One uploaded distribution file (wheel or sdist) and what the simple and JSON APIs say
    about it."""

    artifact = models.OneToOneField(Artifact, on_delete=models.CASCADE, related_name="pypi_file")
    project = models.ForeignKey(PypiProject, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255)
    version = models.CharField(max_length=128)
    packagetype = models.CharField(max_length=32)
    # A wheel's python tags (a PEP 425 compressed set such as cp38.cp39.cp310) may fill most of its name.
    python_version = models.CharField(max_length=255, blank=True)
    requires_python = models.CharField(max_length=255, blank=True)
    upload_time = models.DateTimeField()
    yanked = models.BooleanField(default=False)
    yanked_reason = models.TextField(blank=True)
    # The METADATA (wheel) or PKG-INFO (sdist) file, served as <file>.metadata (PEP 658).
    core_metadata = models.BinaryField(default=b"")
    core_metadata_sha256 = models.CharField(max_length=64, blank=True)
    comment = models.TextField(blank=True)
    blake2b_256 = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "filename"], name="pypi_file_once"),
        ]

    def __str__(self) -> str:
        return self.filename


class PypiPage(models.Model):
    """A simple page (HTML and JSON) as built for one state of what it shows.

    ``variant`` tells apart pages of one virtual repository that differ by which members the
    caller may read; ``state`` names what the page was built from (serials, fetch times), so a
    request whose state matches is answered with the stored bytes."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="+")
    project = models.CharField(max_length=255, blank=True, help_text="'' for the project list.")
    variant = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=1024)
    serial = models.PositiveBigIntegerField(default=0)
    html = models.BinaryField()
    json = models.BinaryField()
    etag = models.CharField(max_length=64)
    # Until when the upstream pages it was built from need not be looked at (None: no upstream).
    fresh_until = models.DateTimeField(null=True, blank=True)
    built = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "project", "variant"], name="pypi_page_once"),
        ]


class PypiVirtualPolicy(models.Model):
    """Dependency-confusion guard of a virtual repository: projects whose files may still come
    from remote members although a local member holds a project of the same name."""

    repository = models.OneToOneField(Repository, on_delete=models.CASCADE, related_name="pypi_policy")
    remote_allowlist = models.TextField(
        blank=True, help_text="Project names, comma or newline separated.")
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "PyPI virtual policies"

    def __str__(self) -> str:
        return f"policy of {self.repository_id}"
