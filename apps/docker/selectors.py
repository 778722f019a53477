"""Registry reads. Callers have authorized the repository and image name; these functions
filter by permission only where they list (catalog, virtual members)."""

from apps.packages.models import Artifact
from apps.repositories.models import Repository
from apps.repositories.selectors import repository_accepts, resolution_order
from apps.security.authorization import authorize

from .models import Manifest, Tag
from .references import Digest, blob_path, is_digest


def image_sources(user, repository: Repository, name: str) -> list[Repository]:
    """The non-virtual repositories a pull of ``name`` may come from, in resolution order."""
    candidates = resolution_order(repository) if repository.is_virtual else [repository]
    if not repository_accepts(repository, name):
        return []
    return [member for member in candidates
            if repository_accepts(member, name) and authorize(user, "read", member, name)]


def manifest_find(repository: Repository, name: str, reference: str) -> Manifest | None:
    """The manifest a tag points at, or the manifest with this digest, held in ``repository``."""
    if is_digest(reference):
        return (Manifest.objects.select_related("artifact__blob")
                .filter(repository=repository, name=name, digest=reference).first())
    tag = (Tag.objects.select_related("manifest__artifact__blob")
           .filter(repository=repository, name=name, tag=reference).first())
    return tag.manifest if tag else None


def manifests_present(repository: Repository, name: str, digests: list[str]) -> set[str]:
    return set(Manifest.objects.filter(repository=repository, name=name, digest__in=digests)
               .values_list("digest", flat=True))


def blob_find(repository: Repository, name: str, digest: Digest) -> Artifact | None:
    return (Artifact.objects.select_related("blob")
            .filter(repository=repository, path=blob_path(name, digest)).first())


def blobs_present(repository: Repository, name: str, digests: list[Digest]) -> dict[str, int]:
    """{digest: size} of the blobs among ``digests`` linked to the image."""
    paths = {blob_path(name, d): str(d) for d in digests}
    found = (Artifact.objects.filter(repository=repository, path__in=list(paths))
             .values_list("path", "blob__size"))
    return {paths[path]: size for path, size in found}


def tags_list(repositories: list[Repository], name: str, *, n: int | None, last: str) -> list[str]:
    """Tags of ``name`` across ``repositories`` in ASCII order, after ``last``, at most ``n``."""
    tags = Tag.objects.filter(repository__in=repositories, name=name)
    if last:
        tags = tags.filter(tag__gt=last)
    names = sorted(set(tags.values_list("tag", flat=True)))
    return names if n is None else names[:n]


def image_exists(repositories: list[Repository], name: str) -> bool:
    return Manifest.objects.filter(repository__in=repositories, name=name).exists()


def catalog(user, *, n: int | None, last: str) -> list[str]:
    """'<repository>/<image>' for every image the caller may read, in ASCII order."""
    repositories = {r.pk: r for r in Repository.objects.filter(
        package_type=Repository.PackageType.DOCKER).exclude(rclass=Repository.RClass.VIRTUAL)}
    rows = (Manifest.objects.filter(repository__in=list(repositories))
            .values_list("repository_id", "name").distinct())
    names = sorted(
        f"{repositories[pk].key}/{name}" for pk, name in rows
        if authorize(user, "read", repositories[pk], name))
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
