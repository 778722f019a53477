"""Registry writes: blob uploads (monolithic, chunked, mounted), manifest pushes, deletes."""

import os
import uuid
from datetime import timedelta

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.packages.models import Artifact
from apps.packages.services import artifact_delete, artifact_deploy, blob_ingest
from apps.packages.storage import CHUNK, SHA256_ONLY, IncompleteBody, Spool, blob_store, spool_stream
from apps.repositories.models import Repository

from . import selectors
from .errors import (BlobUnknown, BlobUploadUnknown, Denied, DigestInvalid, ManifestBlobUnknown,
                     ManifestInvalid, ManifestUnknown, RangeInvalid, SizeInvalid)
from .manifests import ParsedManifest, parse_manifest, referrer_artifact_type
from .models import Manifest, ManifestReference, Tag, UploadSession
from .references import (BLOB_FOLDER, Digest, blob_path, check_tag, digest_of, digest_of_stream, is_digest,
                         manifest_path, parse_digest)


# --- blobs ----------------------------------------------------------------------------------

def blob_link(*, repository: Repository, name: str, digest: Digest, blob, username: str = "") -> Artifact:
    """Make a stored blob part of the image ``name`` in ``repository``."""
    artifact, _ = artifact_deploy(repository=repository, path=blob_path(name, digest), blob=blob,
                                  username=username)
    return artifact


def blob_push(*, repository: Repository, name: str, digest: Digest, stream, length: int | None,
              username: str = "") -> Artifact:
    """A whole blob in one request. Raises DigestInvalid, SizeInvalid (nothing stored)."""
    with _received(stream, length) as spool:
        return _ingest(repository, name, digest, spool, username)


def blob_mount(*, repository: Repository, name: str, source: Artifact, digest: Digest,
               username: str = "") -> Artifact:
    return blob_link(repository=repository, name=name, digest=digest, blob=source.blob,
                     username=username)


def blob_delete(*, repository: Repository, name: str, digest: Digest) -> None:
    """Unlink a blob from an image; its bytes wait for garbage collection. Raises BlobUnknown."""
    if not Artifact.objects.filter(repository=repository, path=blob_path(name, digest)).delete()[0]:
        raise BlobUnknown(detail={"digest": str(digest)})


def _received(stream, length):
    # sha256 only, as distribution does: md5 and sha1 of a layer (the storage API shows them)
    # are computed by a task once it is stored, so parallel pushes are not held up by them.
    try:
        return spool_stream(stream, length, algorithms=SHA256_ONLY)
    except IncompleteBody as exc:
        raise SizeInvalid(exc.message) from None


def _ingest(repository, name, digest: Digest, spool: Spool, username: str) -> Artifact:
    actual = spool.digests().get(digest.algorithm) or _file_digest(spool.temporary_file_path(), digest.algorithm)
    if actual != digest.hex:
        raise DigestInvalid(detail={"expected": str(digest), "actual": f"{digest.algorithm}:{actual}"})
    blob = blob_ingest(spool)
    return blob_link(repository=repository, name=name, digest=digest, blob=blob, username=username)


def _file_digest(path: str, algorithm: str) -> str:
    with open(path, "rb") as handle:
        return digest_of_stream(handle, algorithm).hex


# --- upload sessions ------------------------------------------------------------------------

def upload_start(*, repository: Repository, name: str) -> UploadSession:
    return UploadSession.objects.create(repository=repository, name=name)


def upload_append(*, session: UploadSession, stream, length: int | None,
                  start: int | None = None, end: int | None = None) -> int:
    """Add a chunk at ``start`` (default: the end). Returns the new size.

    Raises RangeInvalid when the chunk does not continue the upload, SizeInvalid when the
    body is not as long as announced; a failed chunk leaves the upload as it was.
    """
    if end is not None and length is not None and end - start + 1 != length:
        raise RangeInvalid("Content-Range does not match Content-Length")
    with _received(stream, length) as spool:
        if end is not None and spool.size != end - start + 1:
            raise RangeInvalid("the chunk is not as long as its Content-Range says")
        with transaction.atomic():
            session = UploadSession.objects.select_for_update().get(pk=session.pk)
            if start is not None and start != session.size:
                raise RangeInvalid(f"the upload holds {session.size} bytes; a chunk must start there",
                                   headers={"Range": upload_range(session.size)})
            if spool.size:
                _add_part(session, spool)
            return session.size


def _add_part(session: UploadSession, spool: Spool) -> None:
    blob_store().put_part(str(session.id), session.parts, spool)
    # The usual case is one PATCH with the whole blob: its digests then serve the closing PUT.
    first = session.parts == 0
    session.hashed_size, session.hashed_digests = (spool.size, spool.digests()) if first else (None, {})
    session.parts += 1
    session.size += spool.size
    session.save(update_fields=["modified", "size", "parts", "hashed_size", "hashed_digests"])


def upload_finish(*, session: UploadSession, digest: Digest, stream, length: int | None,
                  start: int | None = None, end: int | None = None, username: str = "") -> Artifact:
    """Close an upload with its last chunk (maybe empty, at ``start`` when given) and the
    digest of the whole blob.

    Raises DigestInvalid (the upload is discarded), SizeInvalid, RangeInvalid.
    """
    if length or length is None or start is not None:
        upload_append(session=session, stream=stream, length=length, start=start, end=end)
    taken = _upload_take(session)
    try:
        with _assembled(taken) as spool:
            return _ingest(session.repository, session.name, digest, spool, username)
    finally:
        blob_store().delete_parts(str(taken.id), taken.parts)


def _upload_take(session: UploadSession) -> UploadSession:
    """The upload as it stands, taken out of the table: of simultaneous requests closing or
    cancelling it, one alone goes on to use its parts (which it renames or deletes). Raises
    BlobUploadUnknown for the others."""
    with transaction.atomic():
        taken = UploadSession.objects.select_for_update().filter(pk=session.pk).first()
        if taken is None:
            raise BlobUploadUnknown(detail={"upload": str(session.pk)})
        UploadSession.objects.filter(pk=session.pk).delete()  # (Model.delete() would clear the pk)
    return taken


def _assembled(session: UploadSession) -> File:
    """The whole upload as a Spool: its only part itself when that is a local file whose
    digests are known (blob_ingest then renames it), else the parts copied into a new one."""
    store, upload_id = blob_store(), str(session.id)
    if session.parts == 1 and session.hashed_size == session.size and session.hashed_digests:
        path = store.part_path(upload_id, 0)
        if path is not None:
            return _PartFile(path, session.hashed_digests)
    spool = Spool(SHA256_ONLY)
    try:
        for index in range(session.parts):
            with store.open_part(upload_id, index) as part:
                while chunk := part.read(CHUNK):
                    spool.write(chunk)
    except BaseException as exc:  # the spool's file and hashing thread go with it
        spool.close()
        if isinstance(exc, FileNotFoundError):
            raise BlobUploadUnknown("a part of the upload is missing") from None
        raise
    return spool.finish()


def upload_cancel(*, session: UploadSession) -> None:
    """Discard an upload and its parts. Raises BlobUploadUnknown when another request took it
    first (closed or cancelled it)."""
    taken = _upload_take(session)
    blob_store().delete_parts(str(taken.id), taken.parts)


def upload_get(*, session_id: str, repository: Repository, name: str) -> UploadSession:
    """The live upload ``session_id`` of this image. Raises BlobUploadUnknown."""
    session = (UploadSession.objects.select_related("repository")
               .filter(pk=session_id, repository=repository, name=name).first()
               if _is_uuid(session_id) else None)
    if session is None:
        raise BlobUploadUnknown(detail={"upload": session_id[:64]})
    return session


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def upload_range(size: int) -> str:
    """The Range header of an upload holding ``size`` bytes."""
    return f"0-{max(size - 1, 0)}"


class _PartFile(File):
    """A part file of the filesystem store, offered to blob_ingest in a Spool's place (digests,
    size, and a path it may move into the store)."""

    def __init__(self, path: str, digests: dict[str, str]):
        super().__init__(open(path, "rb"), name=os.path.basename(path))
        self._path, self._digests = path, digests

    def digests(self) -> dict[str, str]:
        return self._digests

    def temporary_file_path(self) -> str:
        return self._path


# --- manifests ------------------------------------------------------------------------------

def manifest_push(*, repository: Repository, name: str, reference: str, body: bytes,
                  content_type: str, tags: list[str] = (), username: str = "",
                  check_blobs: bool = True, may_move_tags: bool, holders=()) -> Manifest:
    """Store a manifest exactly as sent and point the tags at it. A blob it refers to that the
    image lacks is taken from the first of ``holders`` (the members of the virtual repository
    pushed through) that holds it under the same image.

    Raises ManifestInvalid, DigestInvalid, TagInvalid, ManifestBlobUnknown, and Denied when a
    tag already names another manifest and ``may_move_tags`` is false (nothing stored).
    """
    parsed = parse_manifest(body, content_type)
    if is_digest(reference):
        digest = parse_digest(reference)
        if not digest.matches(body):
            raise DigestInvalid(detail={"expected": reference, "actual": str(digest_of(body, digest.algorithm))})
        tags = list(tags)
    else:
        digest = digest_of(body)
        tags = [reference, *tags]
    for tag in tags:
        check_tag(tag)
    borrowed = _check_references(repository, name, parsed, holders) if check_blobs else {}
    return _store_manifest(repository, name, digest, body, parsed, tags, username, may_move_tags,
                           borrowed)


def _check_references(repository, name, parsed: ParsedManifest, holders) -> dict:
    """Refuse a manifest whose blobs the image lacks (or has with another size); returns
    {digest: artifact} of those it lacks that one of ``holders`` holds, to be linked with it."""
    wanted = [parse_digest(d.digest) for d in parsed.blobs]
    # Touch the layers first: garbage collection only unlinks rows untouched since its cutoff,
    # so either it spares them now or it already took them and the check below refuses.
    Artifact.objects.filter(repository=repository, path__in=[blob_path(name, d) for d in wanted]) \
        .update(modified=timezone.now())
    present = selectors.blobs_present(repository, name, wanted)
    others = [holder for holder in holders if holder != repository]
    borrowed = {}
    for digest in wanted:
        held = None if str(digest) in present else selectors.blob_held(others, name, digest)
        if held is not None:
            borrowed[digest] = held
            present[str(digest)] = held.blob.size
    for descriptor in parsed.blobs:
        if descriptor.digest not in present:
            raise ManifestBlobUnknown(detail={"digest": descriptor.digest})
        if present[descriptor.digest] != descriptor.size:
            raise ManifestInvalid(f"the size of {descriptor.digest} is {present[descriptor.digest]}, "
                                  f"not {descriptor.size}")
    children = [d.digest for d in parsed.manifests]
    known = selectors.manifests_present(repository, name, children)
    for child in children:
        if child not in known:
            raise ManifestBlobUnknown(f"manifest {child} is unknown", detail={"digest": child})
    return borrowed


def _store_manifest(repository, name, digest: Digest, body: bytes, parsed: ParsedManifest,
                    tags: list[str], username: str, may_move_tags: bool, borrowed: dict) -> Manifest:
    spool = Spool()
    spool.write(body)
    with spool.finish():
        blob = blob_ingest(spool)
    with transaction.atomic():
        for layer, held in borrowed.items():
            blob_link(repository=repository, name=name, digest=layer, blob=held.blob, username=username)
        artifact, _ = artifact_deploy(repository=repository, path=manifest_path(name, digest),
                                      blob=blob, username=username)
        manifest, created = Manifest.objects.get_or_create(
            repository=repository, name=name, digest=str(digest),
            defaults={"artifact": artifact, "media_type": parsed.media_type, "size": len(body),
                      "artifact_type": referrer_artifact_type(parsed),
                      "subject_digest": parsed.subject.digest if parsed.subject else "",
                      "annotations": parsed.annotations})
        if created:
            ManifestReference.objects.bulk_create(
                ManifestReference(manifest=manifest, digest=d.digest)
                for d in [*parsed.blobs, *parsed.manifests])
        if not may_move_tags and Tag.objects.select_for_update().filter(
                repository=repository, name=name, tag__in=tags).exclude(manifest=manifest).exists():
            raise Denied("the tag exists: moving it to another manifest needs delete permission")
        for tag in tags:
            Tag.objects.update_or_create(repository=repository, name=name, tag=tag,
                                         defaults={"manifest": manifest})
            if not repository.is_remote:  # filling a remote cache is not a deploy
                audit_record("docker.tag", target=f"{repository.key}/{name}:{tag}",
                             detail={"digest": str(digest)})
    return manifest


@transaction.atomic
def manifest_delete(*, repository: Repository, name: str, reference: str) -> None:
    """Delete a tag (the manifest stays), or a manifest by digest with every tag pointing at
    it. Raises ManifestUnknown."""
    if not is_digest(reference):
        if not Tag.objects.filter(repository=repository, name=name, tag=check_tag(reference)).delete()[0]:
            raise ManifestUnknown(detail={"tag": reference})
        audit_record("docker.tag.delete", target=f"{repository.key}/{name}:{reference}")
        return
    digest = parse_digest(reference)
    manifest = Manifest.objects.filter(repository=repository, name=name, digest=str(digest)).first()
    if manifest is None:
        raise ManifestUnknown(detail={"digest": reference})
    artifact_delete(repository=repository, path=manifest_path(name, digest))


# --- promotion ------------------------------------------------------------------------------

@transaction.atomic
def image_promote(*, source: Repository, target: Repository, name: str, tag: str,
                  target_name: str, target_tag: str, copy: bool, may_move_tags: bool,
                  username: str = "") -> Manifest:
    """Copy (or move) ``name:tag`` of ``source`` to ``target_name:target_tag`` of ``target``:
    manifests and layers are linked there, no bytes are copied.

    Raises ManifestUnknown, ManifestBlobUnknown (a layer the source lacks), Denied (the
    target tag names another manifest and ``may_move_tags`` is false).
    """
    manifest = (Manifest.objects.filter(repository=source, name=name, tags__tag=check_tag(tag))
                .select_related("artifact__blob").first())
    if manifest is None:
        raise ManifestUnknown(detail={"name": name, "tag": tag})
    promoted = _promote(manifest, target, target_name, check_tag(target_tag), username, may_move_tags)
    if not copy:
        manifest_delete(repository=source, name=name, reference=tag)
    return promoted


def _promote(manifest: Manifest, target: Repository, target_name: str, tag: str | None,
             username: str, may_move_tags: bool) -> Manifest:
    children = {m.digest: m for m in Manifest.objects.filter(
        repository=manifest.repository, name=manifest.name,
        digest__in=manifest.references.values("digest")).select_related("artifact__blob")}
    for reference in manifest.references.all():
        if reference.digest in children:
            _promote(children[reference.digest], target, target_name, None, username, may_move_tags)
            continue
        layer = selectors.blob_find(manifest.repository, manifest.name, parse_digest(reference.digest))
        if layer is not None:
            blob_link(repository=target, name=target_name, digest=parse_digest(reference.digest),
                      blob=layer.blob, username=username)
    with blob_store().open(manifest.artifact.blob.sha256) as handle:
        body = handle.read()
    return manifest_push(repository=target, name=target_name, reference=tag or manifest.digest,
                         body=body, content_type=manifest.media_type, username=username,
                         may_move_tags=may_move_tags)


# --- garbage collection ---------------------------------------------------------------------

def uploads_collect_garbage(*, grace_seconds: int) -> int:
    """Discard upload sessions untouched for ``grace_seconds``. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    removed = 0
    for session in UploadSession.objects.filter(modified__lt=cutoff):
        try:
            upload_cancel(session=session)
        except BlobUploadUnknown:
            continue  # closed meanwhile
        removed += 1
    return removed


def layers_collect_garbage(*, grace_seconds: int) -> int:
    """Unlink blobs no manifest of their image refers to, once older than ``grace_seconds``
    (a push uploads layers before the manifest naming them). Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    referenced = set(ManifestReference.objects.values_list(
        "manifest__repository_id", "manifest__name", "digest").iterator())
    candidates = (Artifact.objects.filter(repository__package_type=Repository.PackageType.DOCKER,
                                          path__contains=BLOB_FOLDER, modified__lt=cutoff)
                  .values_list("pk", "repository_id", "path"))
    unused = []
    for pk, repository_id, path in candidates.iterator():
        name, _, tail = path.partition(BLOB_FOLDER)
        if (repository_id, name, tail.replace("__", ":", 1)) not in referenced:
            unused.append(pk)
    removed = 0
    for start in range(0, len(unused), 500):
        # A manifest pushed meanwhile refreshed its layers' rows: modified__lt spares them.
        removed += Artifact.objects.filter(pk__in=unused[start:start + 500], modified__lt=cutoff).delete()[0]
    return removed
