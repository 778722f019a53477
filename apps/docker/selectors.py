"""Registry reads. Callers have authorized the repository and image name; these functions
filter by permission only where they list (catalog, virtual members)."""

from dataclasses import dataclass

from django.core.cache import cache

from apps.core.db import fetch_one
from apps.core.errors import NotFound
from apps.packages.models import Artifact, Blob
from apps.packages.selectors import artifact_find
from apps.packages.storage import blob_store
from apps.repositories.models import Repository
from apps.repositories.resolve import first_found
from apps.repositories.selectors import repository_accepts, repository_get, resolution_order
from apps.security.authorization import authorize

from .models import Manifest, Tag
from .references import Digest, blob_path, digest_of_stream, image_folder, is_digest


def image_sources(user, repository: Repository, name: str) -> list[Repository]:
    """The non-virtual repositories a pull of ``name`` may come from, in resolution order."""
    candidates = resolution_order(repository) if repository.is_virtual else [repository]
    folder = image_folder(name)
    if not repository_accepts(repository, folder):
        return []
    return [member for member in candidates
            if repository_accepts(member, folder) and authorize(user, "read", member, folder)]


@dataclass(frozen=True)
class StoredManifest:
    """What a manifest GET needs, read in one small query (the hot path of every pull)."""

    digest: str
    media_type: str
    size: int
    sha256: str  # of the stored bytes, the key of the blob store

    @classmethod
    def of(cls, manifest: Manifest) -> "StoredManifest":
        return cls(manifest.digest, manifest.media_type, manifest.size, manifest.artifact.blob.sha256)


# The hot path of every pull: SQL prepared once per connection (fetch_one), which skips the
# ORM's query compiler (about 0.4 ms of CPU per query) and PostgreSQL's planner (more than the
# four-table lookup takes to run).
_STORED_SQL = """
    SELECT m.digest, m.media_type, m.size, b.sha256
    FROM {manifest} m
    JOIN {artifact} a ON a.id = m.artifact_id
    JOIN {blob} b ON b.id = a.blob_id
"""
_TABLES = {"manifest": Manifest._meta.db_table, "artifact": Artifact._meta.db_table,
           "blob": Blob._meta.db_table, "tag": Tag._meta.db_table}
_BY_DIGEST = (_STORED_SQL + " WHERE m.repository_id = %s AND m.name = %s AND m.digest = %s").format(**_TABLES)
_BY_TAG = (_STORED_SQL + " JOIN {tag} t ON t.manifest_id = m.id"
           " WHERE t.repository_id = %s AND t.name = %s AND t.tag = %s").format(**_TABLES)


def manifest_find(repository: Repository, name: str, reference: str) -> StoredManifest | None:
    """The manifest a tag points at, or the manifest with this digest, held in ``repository``."""
    row = fetch_one(_BY_DIGEST if is_digest(reference) else _BY_TAG, [repository.pk, name, reference])
    if row is None or not _bytes_match(row[0], row[3]):
        return None
    return StoredManifest(*row)


def docker_repository(key: str) -> Repository | None:
    """The docker repository ``key`` (from the configuration cache), else None."""
    try:
        repository = repository_get(key)
    except NotFound:
        return None
    return repository if repository.package_type == Repository.PackageType.DOCKER else None


def manifests_present(repository: Repository, name: str, digests: list[str]) -> set[str]:
    return set(Manifest.objects.filter(repository=repository, name=name, digest__in=digests)
               .values_list("digest", flat=True))


def _bytes_match(digest: str, sha256: str) -> bool:
    # The raw artifact API can put other bytes at a registry path: never serve them as this digest.
    if digest.startswith("sha256:"):
        return digest[7:] == sha256
    return cache.get_or_set(f"docker-digest:{sha256}:{digest}", lambda: _stored_bytes_have(sha256, digest),
                            timeout=None)


def _stored_bytes_have(sha256: str, digest: str) -> bool:
    """Whether the stored bytes ``sha256`` have ``digest`` of another algorithm (sha512): read
    and hashed once, then a fact about content that the shared cache keeps."""
    algorithm, _, hexpart = digest.partition(":")
    with blob_store().open(sha256) as handle:
        return digest_of_stream(handle, algorithm).hex == hexpart


def bytes_match(artifact: Artifact, digest: Digest) -> bool:
    """Whether ``artifact`` holds bytes with ``digest``."""
    return _bytes_match(str(digest), artifact.blob.sha256)


def blob_find(repository: Repository, name: str, digest: Digest) -> Artifact | None:
    artifact = artifact_find(repository, blob_path(name, digest))
    return artifact if artifact is not None and bytes_match(artifact, digest) else None


def blob_held(repositories: list[Repository], name: str, digest: Digest) -> Artifact | None:
    """The blob as stored under the image by the first of ``repositories`` that holds it (a
    remote repository's cache; no upstream is asked)."""
    return first_found(repositories, lambda repository: blob_find(repository, name, digest))


def blobs_present(repository: Repository, name: str, digests: list[Digest]) -> dict[str, int]:
    """{digest: size} of the blobs among ``digests`` linked to the image."""
    paths = {blob_path(name, d): str(d) for d in digests}
    found = (Artifact.objects.filter(repository=repository, path__in=list(paths))
             .values_list("path", "blob__size", "blob__sha256"))
    return {paths[path]: size for path, size, sha256 in found if _bytes_match(paths[path], sha256)}


def tags_list(repositories: list[Repository], name: str) -> set[str]:
    return set(Tag.objects.filter(repository__in=repositories, name=name).values_list("tag", flat=True))


def image_exists(repositories: list[Repository], name: str) -> bool:
    return Manifest.objects.filter(repository__in=repositories, name=name).exists()


def catalog(user, *, n: int | None, last: str, repository: Repository | None = None) -> list[str]:
    """'<repository>/<image>' for every image the caller may read, in ASCII order; with
    ``repository``, the names of its images (a virtual one's: its members')."""
    if repository is not None:
        sources = resolution_order(repository) if repository.is_virtual else [repository]
        repositories = {r.pk: r for r in sources}
    else:
        repositories = {r.pk: r for r in Repository.objects.filter(
            package_type=Repository.PackageType.DOCKER).exclude(rclass=Repository.RClass.VIRTUAL)}
    rows = (Manifest.objects.filter(repository__in=list(repositories))
            .values_list("repository_id", "name").distinct())
    readable = {(pk, name) for pk, name in rows
                if authorize(user, "read", repositories[pk], image_folder(name))}
    names = sorted({name if repository is not None else f"{repositories[pk].key}/{name}"
                    for pk, name in readable})
    names = [full for full in names if full > last] if last else names
    return names if n is None else names[:n]


def referrers(repositories: list[Repository], name: str, digest: str, *,
              artifact_type: str = "") -> list[Manifest]:
    found = Manifest.objects.filter(repository__in=repositories, name=name, subject_digest=digest)
    if artifact_type:
        found = found.filter(artifact_type=artifact_type)
    unique: dict[str, Manifest] = {}
    for manifest in found.order_by("created", "id"):
        unique.setdefault(manifest.digest, manifest)
    return list(unique.values())
