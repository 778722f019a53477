"""Writes of repository configuration."""

from django.db import transaction

from .models import Repository, VirtualMember

_FIELDS = (
    "rclass", "package_type", "description", "notes", "includes_pattern", "excludes_pattern",
    "url", "username", "password", "metadata_retrieval_cache_secs", "missed_retrieval_cache_secs",
    "socket_timeout_secs", "offline", "store_artifacts_locally", "default_deployment_repo",
)


@transaction.atomic
def repository_create(*, key: str, members: list[Repository] | None = None, **fields) -> Repository:
    """Create a repository (fields as on the model; ``members`` for a virtual one, in order)."""
    repository = Repository.objects.create(key=key, **{k: v for k, v in fields.items() if k in _FIELDS})
    if members:
        members_set(repository, members)
    return repository


@transaction.atomic
def repository_update(repository: Repository, *, members: list[Repository] | None = None,
                      **fields) -> Repository:
    """Change the given fields; ``members`` (when given) replaces the virtual's member list."""
    for name, value in fields.items():
        if name in _FIELDS:
            setattr(repository, name, value)
    repository.save()
    if members is not None:
        members_set(repository, members)
    return repository


def members_set(virtual: Repository, members: list[Repository]) -> None:
    VirtualMember.objects.filter(virtual=virtual).delete()
    VirtualMember.objects.bulk_create(
        VirtualMember(virtual=virtual, member=member, position=index)
        for index, member in enumerate(members))


@transaction.atomic
def repository_delete(repository: Repository) -> None:
    """Delete a repository and its artifacts (their blobs wait for garbage collection)."""
    repository.delete()
