"""Reads of repositories: lookup by key, virtual resolution order, visibility."""

from apps.core.config_cache import cached_rows
from apps.core.errors import NotFound

from .models import Repository, VirtualMember
from .patterns import path_allowed


def repository_get(key: str) -> Repository:
    """The repository with ``key`` (cached per process until configuration changes). Raises
    NotFound."""
    repository = cached_rows(("repository", key), lambda: Repository.objects.select_related(
        "default_deployment_repo").filter(key=key).first())
    if repository is None:
        raise NotFound(f"Repository '{key}' not found")
    return repository


def resolution_order(virtual: Repository) -> list[Repository]:
    """The repositories a virtual repository reads from, in order: its members as listed, with
    nested virtual repositories expanded, each repository once, local ones before remote ones."""
    cached = getattr(virtual, "_resolution_order", None)
    if cached is not None:
        return cached
    return _order(virtual, members_of)


def resolution_orders_load(repositories) -> None:
    """Work out the resolution order of every virtual repository in ``repositories`` with one
    query (for lists, which would otherwise ask once per virtual repository)."""
    members: dict[int, list[Repository]] = {}
    for membership in VirtualMember.objects.select_related("member"):  # ordered by position
        members.setdefault(membership.virtual_id, []).append(membership.member)
    for repository in repositories:
        if repository.is_virtual:
            _order(repository, lambda virtual: members.get(virtual.pk, []))


def _order(virtual: Repository, members_of) -> list[Repository]:
    flat: list[Repository] = []
    _expand(virtual, flat, {virtual.pk}, members_of)
    virtual._resolution_order = [r for r in flat if r.is_local] + [r for r in flat if r.is_remote]
    return virtual._resolution_order


def members_of(virtual: Repository) -> list[Repository]:
    """The direct members of a virtual repository, in order."""
    return cached_rows(("virtual members", virtual.pk), lambda: [
        m.member for m in VirtualMember.objects.filter(virtual=virtual).select_related("member")])


def _expand(virtual: Repository, flat: list[Repository], seen: set[int], members_of) -> None:
    for member in members_of(virtual):
        if member.pk in seen:
            continue
        seen.add(member.pk)
        if member.is_virtual:
            _expand(member, flat, seen, members_of)
        else:
            flat.append(member)


def repository_accepts(repository: Repository, path: str) -> bool:
    """Whether the repository's own include/exclude patterns admit ``path``."""
    return path_allowed(path, repository.includes_pattern, repository.excludes_pattern)
