"""Where a read of (repository, path) is answered from: the repository itself, or for a
virtual repository its members in order, each filtered by its patterns and the caller's
permissions."""

from typing import Callable, TypeVar
from urllib.parse import quote

from apps.packages.selectors import artifact_find_first
from apps.security.authorization import authorize, may_read_somewhere

from .models import Repository
from .remote import UpstreamUnavailable, remote_file
from .selectors import repository_accepts, resolution_order

T = TypeVar("T")


def readable_sources(user, repository: Repository, path: str, *, folder: bool = False) -> list[Repository]:
    """The non-virtual repositories a read of ``path`` may come from, in resolution order.

    For a folder, a source qualifies when the caller may read anything in it; the files
    listed must still be filtered one by one.
    """
    candidates = resolution_order(repository) if repository.is_virtual else [repository]
    if folder:
        return [member for member in candidates if may_read_somewhere(user, member)]
    if not repository_accepts(repository, path):
        return []
    return [member for member in candidates
            if repository_accepts(member, path) and authorize(user, "read", member, path)]


def file_resolve(user, repository: Repository, path: str, *, fetch: bool = True):
    """(result, source) for the first source holding ``path``: result is an Artifact, or a live
    upstream download when ``fetch`` allows asking a remote repository. (None, None) if none.

    What is held (local files, then remote caches) comes before any upstream is asked; an
    upstream that fails is passed over for the next one. Raises UpstreamUnavailable when one
    failed and no source had the file.
    """
    sources = readable_sources(user, repository, path)
    artifact, source = artifact_find_first(sources, path)
    if artifact is not None or not fetch:
        return artifact, source
    remotes = [s for s in sources if s.is_remote and s.package_type == Repository.PackageType.GENERIC]
    return first_found(remotes, lambda source: _generic_fetch(source, path)) or (None, None)


def _generic_fetch(source: Repository, path: str):
    result = remote_file(source, path, generic_upstream_url(source, path), not_cached=True)
    return (result, source) if result is not None else None


def first_found(sources: list[Repository], find: Callable[[Repository], T | None]) -> T | None:
    """The first answer of ``find`` that is not None, asking ``sources`` in order; a source
    whose upstream fails is passed over for the next one, as Artifactory resolves a virtual
    repository. None when none had it. Raises the first UpstreamUnavailable when one failed
    and no source had it (an unreachable upstream might have had it)."""
    failure = None
    for source in sources:
        try:
            found = find(source)
        except UpstreamUnavailable as exc:
            failure = failure or exc
            continue
        if found is not None:
            return found
    if failure is not None:
        raise failure
    return None


def generic_upstream_url(repository: Repository, path: str) -> str:
    return repository.url.rstrip("/") + "/" + quote(path)
