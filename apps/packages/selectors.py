"""Reads of the storage core. Callers have already authorized the repository and path."""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum

from apps.core.db import fetch_one, model_columns, model_from_row

from .models import Artifact, Blob


def artifact_find(repository, path: str) -> Artifact | None:
    """The file at ``path`` with its blob (and ``repository`` as its repository), in one
    prepared statement: every download and metadata request asks this."""
    row = fetch_one(_artifact_sql(), [repository.pk, path])
    if row is None:
        return None
    split = len(Artifact._meta.concrete_fields)
    artifact = model_from_row(Artifact, row[:split])
    artifact.blob, artifact.repository = model_from_row(Blob, row[split:]), repository
    return artifact


@cache
def _artifact_sql() -> str:
    quote = connection.ops.quote_name
    return (f"SELECT {model_columns(Artifact, 'a')}, {model_columns(Blob, 'b')}"
            f" FROM {quote(Artifact._meta.db_table)} a JOIN {quote(Blob._meta.db_table)} b ON b.id = a.blob_id"
            f" WHERE a.repository_id = %s AND a.path = %s")


def artifact_find_first(repositories: list, path: str):
    """(artifact, repository) for the first of ``repositories`` holding ``path``, in one
    query; (None, None) when none does."""
    if len(repositories) == 1:
        artifact = artifact_find(repositories[0], path)
        return (artifact, repositories[0]) if artifact is not None else (None, None)
    rows = Artifact.objects.select_related("blob", "repository").filter(repository__in=repositories, path=path)
    found = {artifact.repository_id: artifact for artifact in rows}
    for repository in repositories:
        if repository.pk in found:
            return found[repository.pk], repository
    return None, None


def artifacts_under(repository, path: str):
    """The file at ``path`` and every file below the folder ``path`` ('' = the whole repository)."""
    items = Artifact.objects.filter(repository=repository).select_related("blob")
    if path:
        items = items.filter(Q(path=path) | Q(path__startswith=path + "/"))
    return items.order_by("path")


@dataclass
class Folder:
    repository: object
    path: str
    created: datetime | None
    modified: datetime | None


def folder_find(repository, path: str) -> Folder | None:
    """The folder at ``path`` ('' = root) if any file lies below it."""
    items = Artifact.objects.filter(repository=repository)
    if path:
        items = items.filter(path__startswith=path + "/")
    summary = items.aggregate(created=Min("created"), modified=Max("modified"), n=Count("id"))
    if not summary["n"] and path:
        return None
    return Folder(repository, path, summary["created"], summary["modified"])


def folder_children(repository, path: str, visible=None) -> list[tuple[str, bool]]:
    """Direct children of a folder as (name, is_folder), sorted by name; only those with a
    file below them that ``visible(file_path)`` admits, when given."""
    prefix = path + "/" if path else ""
    items = Artifact.objects.filter(repository=repository)
    if prefix:
        items = items.filter(path__startswith=prefix)
    children: dict[str, bool] = {}
    for full in items.values_list("path", flat=True).iterator():
        if visible is not None and not visible(full):
            continue
        head, sep, _ = full[len(prefix):].partition("/")
        children[head] = children.get(head, False) or bool(sep)
    return sorted(children.items())


def storage_summary() -> dict:
    """Totals for /api/storageinfo: deduplicated bytes (blobs) and logical bytes (artifacts)."""
    blobs = Blob.objects.aggregate(count=Count("id"), size=Sum("size"))
    artifacts = Artifact.objects.aggregate(count=Count("id"), size=Sum("blob__size"))
    per_repository = (Artifact.objects.values("repository_id")
                      .annotate(files=Count("id"), size=Sum("blob__size")))
    return {
        "binaries_count": blobs["count"], "binaries_size": blobs["size"] or 0,
        "artifacts_count": artifacts["count"], "artifacts_size": artifacts["size"] or 0,
        "repositories": {row["repository_id"]: row for row in per_repository},
    }
