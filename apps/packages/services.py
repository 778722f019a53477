"""Writes of the storage core: ingest bytes once, point paths at them, annotate, delete."""

import hashlib
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.db import fetch_one, insert, model_from_row
from apps.core.errors import Conflict, NotFound

from .models import Artifact, Blob, Property
from .storage import CHUNK, Spool, blob_store

# A blob stored without md5/sha1 gets a task to compute them when it is committed; one still
# without them after this long lost that task (broker down), and the next task takes it too.
CHECKSUMS_LATE_SECONDS = 600


class ChecksumMismatch(Conflict):
    """The bytes do not have the checksum the client announced."""


def verify_checksums(spool: Spool, expected: dict[str, str]) -> None:
    """Raises ChecksumMismatch unless every given checksum (md5, sha1, sha256, sha512) matches."""
    actual = spool.digests()
    for name, value in expected.items():
        if value and value.strip().lower() != actual[name]:
            raise ChecksumMismatch(
                f"Checksum mismatch: the {name} of the received content is {actual[name]}, "
                f"the client declared {value.strip()}")


def blob_ingest(spool: Spool, *, expected: dict[str, str] | None = None) -> Blob:
    """Store spooled bytes under their sha256, once, and return their Blob.

    Raises ChecksumMismatch (nothing stored) when ``expected`` checksums disagree.
    """
    verify_checksums(spool, expected or {})
    digests = spool.digests()
    known = {name: digests.get(name, "") for name in ("sha1", "md5")}
    blob = _blob_touch(digests["sha256"], known)
    if blob is not None:
        return blob
    blob_store().put(digests["sha256"], spool)
    blob = Blob(sha256=digests["sha256"], size=spool.size, **known)
    if not insert(blob):  # a concurrent ingest of the same bytes stored the row first
        blob = Blob.objects.get(sha256=digests["sha256"])
    if not blob.has_all_checksums:
        transaction.on_commit(partial(_complete_checksums_later, blob.pk), robust=True)
    return blob


def _blob_touch(sha256: str, known: dict[str, str]) -> Blob | None:
    """The stored blob with ``sha256``, marked as just ingested, in one statement; None when
    there is none. Its row lock waits out a garbage collection that is deleting these very
    bytes (which leaves no row to update). Bytes stored sha256-only get their md5/sha1 from
    whichever comes first: this ingest, when it computed them, or the task queued when they
    were stored."""
    quote = connection.ops.quote_name
    fill = "".join(f", {quote(name)} = CASE WHEN {quote(name)} = '' THEN %s ELSE {quote(name)} END"
                   for name in known)
    row = fetch_one(f"UPDATE {quote(Blob._meta.db_table)} SET {quote('touched')} = %s{fill} "
                    f"WHERE {quote('sha256')} = %s RETURNING {', '.join(map(quote, _TOUCHED))}",
                    [connection.ops.adapt_datetimefield_value(timezone.now()), *known.values(), sha256])
    return None if row is None else model_from_row(Blob, row, _TOUCHED)


_TOUCHED = ("id", "sha256", "sha1", "md5", "size")  # what callers use; the dates load if asked


def _complete_checksums_later(blob_id: int) -> None:
    from .tasks import complete_checksums  # the tasks module imports these services

    complete_checksums.delay(blob_id=blob_id)


def blob_complete_checksums(*, blob_id: int) -> bool:
    """Compute the md5 and sha1 of a blob stored without them (Docker layers are hashed
    sha256-only while the client waits). Returns whether it did; False when the blob already
    has them or is gone (collected meanwhile)."""
    blob = Blob.objects.filter(pk=blob_id).first()
    if blob is None or blob.has_all_checksums:
        return False
    hashers = {"md5": hashlib.md5(), "sha1": hashlib.sha1()}
    try:
        with blob_store().open(blob.sha256) as handle:
            while chunk := handle.read(CHUNK):
                for hasher in hashers.values():
                    hasher.update(chunk)
    except FileNotFoundError:
        return False
    return bool(Blob.objects.filter(pk=blob.pk).filter(Q(md5="") | Q(sha1="")).update(
        **{name: hasher.hexdigest() for name, hasher in hashers.items()}))


def blobs_complete_checksums(*, older_than_seconds: int = CHECKSUMS_LATE_SECONDS) -> int:
    """Complete every blob stored more than ``older_than_seconds`` ago that still lacks md5 or
    sha1 (its own task was lost). Returns how many were completed."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    late = (Blob.objects.filter(Q(md5="") | Q(sha1=""), created__lt=cutoff)
            .order_by("pk").values_list("pk", flat=True))
    return sum(blob_complete_checksums(blob_id=pk) for pk in list(late[:10000]))


def blob_by_checksum(*, sha256: str = "", sha1: str = "", md5: str = "") -> Blob | None:
    """A stored blob with any of the given checksums (for deploy-by-checksum), else None.

    The blob counts as just ingested, so garbage collection leaves it to the deploy that
    follows; one being collected right now waits for that to finish and is then not found.
    """
    for field, value in (("sha256", sha256), ("sha1", sha1), ("md5", md5)):
        if not value:
            continue
        with transaction.atomic():
            blob = Blob.objects.select_for_update().filter(**{field: value.strip().lower()}).first()
            if blob is not None:
                Blob.objects.filter(pk=blob.pk).update(touched=timezone.now())
                return blob
    return None


def artifact_deploy(*, repository, path: str, blob: Blob, username: str = "",
                    allow_overwrite: bool = False, properties: dict[str, list[str]] | None = None,
                    remote_url: str = "") -> tuple[Artifact, bool]:
    """Point ``path`` in ``repository`` at ``blob``; returns (artifact, created).

    Raises Conflict when the path is a folder, lies under a file, or holds different content
    and ``allow_overwrite`` is false. Redeploying identical content is not an overwrite.
    """
    taken = _path_taken(repository, path)
    new = Artifact(repository=repository, path=path, blob=blob, created_by=username,
                   modified_by=username, remote_url=remote_url)
    # The common case, a new path without properties (a remote repository caching a file):
    # one INSERT, with no transaction or lock around it.
    if not taken and not properties and insert(new):
        return new, True
    return _artifact_deploy_locked(new, allow_overwrite=allow_overwrite, properties=properties)


@transaction.atomic
def _artifact_deploy_locked(new: Artifact, *, allow_overwrite: bool,
                            properties: dict[str, list[str]] | None) -> tuple[Artifact, bool]:
    artifact = _locked_artifact(new.repository, new.path)
    created = artifact is None and insert(new)
    if created:
        artifact = new
    else:
        artifact = artifact or _locked_artifact(new.repository, new.path)  # a concurrent deploy won
        if artifact.blob_id != new.blob_id and not allow_overwrite:
            raise Conflict(f"'{new.repository.key}/{new.path}' already exists with different content")
        artifact.blob, artifact.modified_by = new.blob, new.modified_by
        artifact.remote_url = new.remote_url or artifact.remote_url
        artifact.save(update_fields=["blob", "modified_by", "modified", "remote_url"])
    if properties:
        properties_set([artifact], properties)
    return artifact, created


def _locked_artifact(repository, path: str) -> Artifact | None:
    return Artifact.objects.select_for_update().filter(repository=repository, path=path).first()


def _path_taken(repository, path: str) -> bool:
    """Whether a file is at ``path``. Raises Conflict when ``path`` is a folder (files lie below
    it) or lies below a file. One query for the three."""
    parents = path.split("/")[:-1]
    ancestors = ["/".join(parents[: i + 1]) for i in range(len(parents))]
    found = Artifact.objects.filter(Q(path=path) | Q(path__startswith=path + "/") | Q(path__in=ancestors),
                                    repository=repository).values_list("path", flat=True)
    taken = False
    for other in found[:2]:  # the path is unique: a second row, if any, is a clash
        if other == path:
            taken = True
        elif other.startswith(path + "/"):
            raise Conflict(f"'{repository.key}/{path}' is a folder")
        else:
            raise Conflict(f"a parent of '{repository.key}/{path}' is a file")
    return taken


def artifact_delete(*, repository, path: str) -> int:
    """Delete the file at ``path``, or everything under the folder ``path`` ('' = all).

    Blobs stay until garbage collection finds them unreferenced. Raises NotFound.
    """
    items = Artifact.objects.filter(repository=repository)
    if path:
        items = items.filter(Q(path=path) | Q(path__startswith=path + "/"))
    deleted = items.delete()[1].get(Artifact._meta.label, 0)
    if not deleted and path:
        raise NotFound(f"'{repository.key}/{path}' not found")
    return deleted


def artifact_record_download(artifact: Artifact) -> None:
    # Every download pays this: one prepared statement, not the ORM's compiled UPDATE. On
    # PostgreSQL its commit does not wait for the WAL flush (synchronous_commit off for this
    # statement's own transaction, never a caller's): the count is seen at once by every
    # session, and a crash of the database server can lose the last fraction of a second of counts.
    quote, now = connection.ops.quote_name, connection.ops.adapt_datetimefield_value(timezone.now())
    unflushed = connection.vendor == "postgresql" and not connection.in_atomic_block
    setting, joined = (("WITH unflushed_ AS (SELECT set_config('synchronous_commit', 'off', true)) ",
                        " FROM unflushed_") if unflushed else ("", ""))
    count = quote("download_count")
    fetch_one(f"{setting}UPDATE {quote(Artifact._meta.db_table)} SET {count} = {count} + 1, "
              f"{quote('last_downloaded')} = %s{joined} WHERE {quote('id')} = %s RETURNING {quote('id')}",
              [now, artifact.pk])


@transaction.atomic
def properties_set(artifacts: Iterable[Artifact], properties: dict[str, list[str]]) -> None:
    """Give each artifact exactly these values for each key named (other keys untouched)."""
    artifacts = list(artifacts)
    Property.objects.filter(artifact__in=artifacts, key__in=list(properties)).delete()
    Property.objects.bulk_create([
        Property(artifact=artifact, key=key, value=value)
        for artifact in artifacts
        for key, values in properties.items()
        for value in dict.fromkeys(values)
    ])


def properties_delete(artifacts: Iterable[Artifact], keys: Iterable[str]) -> int:
    return Property.objects.filter(artifact__in=list(artifacts), key__in=list(keys)).delete()[0]


def blobs_collect_garbage(*, grace_seconds: int = 3600) -> int:
    """Delete blobs no artifact uses and nobody ingested in the last ``grace_seconds``.

    Each blob row stays locked while its bytes go, so an ingest of the same content waits and
    then stores the bytes afresh. ``extra_references`` hooks let format apps keep blobs their
    own tables use. Returns how many blobs were removed.
    """
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    candidates = Blob.objects.filter(touched__lt=cutoff, artifacts__isnull=True)
    for referenced in BLOB_REFERENCES:
        candidates = candidates.exclude(pk__in=referenced())
    removed = 0
    for pk in list(candidates.values_list("pk", flat=True)[:10000]):
        with transaction.atomic():
            blob = (Blob.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(pk=pk, touched__lt=cutoff, artifacts__isnull=True).first())
            if blob is None or any(referenced().filter(pk=pk).exists() for referenced in BLOB_REFERENCES):
                continue
            blob_store().delete(blob.sha256)
            blob.delete()
            removed += 1
    return removed


# Callables returning a Blob queryset of blobs some other table still needs (Docker manifests,
# upload sessions...). Format apps append to this in their AppConfig.ready().
BLOB_REFERENCES: list = []
