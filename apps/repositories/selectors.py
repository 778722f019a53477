"""Reads of repositories: lookup by key, virtual resolution order, visibility."""

from apps.core.errors import NotFound

from .models import Repository, VirtualMember
from .patterns import path_allowed


def repository_get(key: str) -> Repository:
    """The repository with ``key``. Raises NotFound."""
    repository = (Repository.objects.select_related("default_deployment_repo")
                  .filter(key=key).first())
    if repository is None:
        raise NotFound(f"Repository '{key}' not found")
    return repository


def resolution_order(virtual: Repository) -> list[Repository]:
    """The repositories a virtual repository reads from, in order: its members as listed, with
    nested virtual repositories expanded, each repository once, local ones before remote ones."""
    cached = getattr(virtual, "_resolution_order", None)
    if cached is not None:
        return cached
    flat: list[Repository] = []
    _expand(virtual, flat, seen={virtual.pk})
    ordered = [r for r in flat if r.is_local] + [r for r in flat if r.is_remote]
    virtual._resolution_order = ordered
    return ordered


def _expand(virtual: Repository, flat: list[Repository], seen: set[int]) -> None:
    memberships = VirtualMember.objects.filter(virtual=virtual).select_related("member")
    for member in (m.member for m in memberships):
        if member.pk in seen:
            continue
        seen.add(member.pk)
        if member.is_virtual:
            _expand(member, flat, seen)
        else:
            flat.append(member)


def repository_accepts(repository: Repository, path: str) -> bool:
    """Whether the repository's own include/exclude patterns admit ``path``."""
    return path_allowed(path, repository.includes_pattern, repository.excludes_pattern)
