"""Writes of PyPI repositories: upload, yank/unyank, delete. Each change moves the project's
serial, which is what invalidates the stored simple pages."""

import base64
import hashlib

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from apps.core.errors import BadRequest, Conflict, NotFound
from apps.packages.services import ChecksumMismatch, artifact_delete, artifact_deploy, blob_ingest
from apps.packages.storage import CHUNK, Spool
from apps.repositories.models import Repository

from .distributions import (DistributionName, InvalidDistribution, check_agreement,
                            metadata_fields, normalize, read_core_metadata,
                            valid_project_name)
from .models import PypiFile, PypiProject, PypiVirtualPolicy
from .selectors import release_files

_FILETYPES = {"bdist_wheel", "sdist"}


def artifact_path(project: str, filename: str) -> str:
    """Where a distribution file lives in its repository: <normalised project>/<filename>."""
    return f"{project}/{filename}"


def pypi_upload(*, repository: Repository, spool: Spool, filename: str, dist: DistributionName,
                form: dict[str, str], username: str = "") -> PypiFile:
    """Store an uploaded distribution in a local repository; ``dist`` is what ``filename``
    says (``parse_filename``, which the caller needed first to authorize the file's path).

    The file must be a readable wheel or sdist whose own metadata is valid and agrees with its
    filename and with the form, and match every digest the form gives (at least one). Raises
    InvalidDistribution / BadRequest (nothing stored), ChecksumMismatch, Conflict when the
    file exists.
    """
    _check_form_filetype(dist, form.get("filetype", ""))
    blake2 = _verify_digests(spool, form)
    core_metadata = read_core_metadata(spool.file, filename, dist=dist)
    fields = metadata_fields(core_metadata)
    check_agreement(dist, fields, form_name=form.get("name", ""), form_version=form.get("version", ""))
    row = _file_row(dist, filename, fields, core_metadata, comment=form.get("comment", ""), blake2=blake2)
    if PypiFile.objects.filter(project__repository=repository, project__name=dist.project,
                               filename=filename).exists():
        raise Conflict(f"File already exists: {filename}")
    spool.file.seek(0)
    blob = blob_ingest(spool)
    try:
        return _record(repository, dist, blob, row, display_name=fields["name"], username=username)
    except IntegrityError:
        raise Conflict(f"File already exists: {filename}") from None


# Columns an upload fills from what the client sent, named as its error messages name them.
_BOUNDED = {"filename": "The filename", "version": "The version", "python_version": "The python tag",
            "requires_python": "Requires-Python"}


def _file_row(dist: DistributionName, filename: str, fields: dict, core_metadata: bytes,
              *, comment: str, blake2: str) -> dict:
    """The PypiFile columns of an upload. Raises BadRequest for a value longer than its column:
    refused before any byte is stored, not by the database after."""
    row = {"filename": filename, "version": dist.version, "packagetype": dist.packagetype,
           "python_version": dist.python_version, "requires_python": fields.get("requires_python") or "",
           "core_metadata": core_metadata, "core_metadata_sha256": hashlib.sha256(core_metadata).hexdigest(),
           "comment": comment, "blake2b_256": blake2}
    for column, label in _BOUNDED.items():
        _check_length(PypiFile, column, row[column], label)
    _check_length(PypiProject, "display_name", fields["name"], "The project name")
    return row


def _check_length(model, column: str, value: str, label: str) -> None:
    limit = model._meta.get_field(column).max_length
    if len(value) > limit:
        raise BadRequest(f"{label} is longer than {limit} characters")


@transaction.atomic
def _record(repository, dist: DistributionName, blob, row: dict, *, display_name: str,
            username: str) -> PypiFile:
    project, _ = PypiProject.objects.select_for_update().get_or_create(
        repository=repository, name=dist.project, defaults={"display_name": display_name})
    artifact, created = artifact_deploy(repository=repository, path=artifact_path(dist.project, row["filename"]),
                                        blob=blob, username=username)
    if not created and PypiFile.objects.filter(artifact=artifact).exists():
        raise Conflict(f"File already exists: {row['filename']}")
    pypi_file = PypiFile.objects.create(artifact=artifact, project=project, upload_time=timezone.now(), **row)
    project.display_name = display_name
    _bump(project)
    return pypi_file


def _check_form_filetype(dist: DistributionName, filetype: str) -> None:
    if filetype and (filetype not in _FILETYPES or filetype != dist.packagetype):
        raise InvalidDistribution(f"filetype {filetype!r} does not match the file, a {dist.packagetype}")


def _verify_digests(spool: Spool, form: dict[str, str]) -> str:
    """Check the form's digests against the bytes; returns the file's blake2b-256."""
    digests = spool.digests()
    blake2 = _blake2_256(spool)
    given = {name: form.get(name, "").strip() for name in ("sha256_digest", "md5_digest", "blake2_256_digest")}
    if not any(given.values()):
        raise BadRequest("Include at least one message digest (sha256_digest, md5_digest, blake2_256_digest)")
    md5_b64 = base64.urlsafe_b64encode(bytes.fromhex(digests["md5"])).decode().rstrip("=")
    checks = [
        ("sha256_digest", {digests["sha256"]}),
        ("md5_digest", {digests["md5"], md5_b64}),
        ("blake2_256_digest", {blake2}),
    ]
    for name, accepted in checks:
        value = given[name]
        if value and value.lower() not in {a.lower() for a in accepted} and value not in accepted:
            raise ChecksumMismatch(f"The {name} of the upload does not match its content", status=400)
    return blake2


def _blake2_256(spool: Spool) -> str:
    hasher = hashlib.blake2b(digest_size=32)
    spool.file.seek(0)
    while chunk := spool.file.read(CHUNK):
        hasher.update(chunk)
    spool.file.seek(0)
    return hasher.hexdigest()


def _bump(project: PypiProject) -> None:
    """Give ``project`` the repository's next serial (the repository row lock orders writers)."""
    Repository.objects.select_for_update().filter(pk=project.repository_id).first()
    current = (PypiProject.objects.filter(repository_id=project.repository_id)
               .aggregate(s=Max("serial"))["s"] or 0)
    project.serial = current + 1
    project.save(update_fields=["serial", "display_name"])


def project_touch(project_id: int) -> None:
    """Move a project's serial after a change made around these services (a raw-API delete)."""
    project = PypiProject.objects.filter(pk=project_id).first()
    if project is not None:
        _bump(project)


@transaction.atomic
def pypi_release_yank(*, repository: Repository, project: str, version: str, yanked: bool,
                      reason: str = "") -> int:
    """Yank (or unyank) every file of a release; returns how many. Raises NotFound."""
    count = release_files(repository, project, version).update(yanked=yanked, yanked_reason=reason if yanked else "")
    if not count:
        raise NotFound(f"'{project}' {version} not found in '{repository.key}'")
    _bump(PypiProject.objects.select_for_update().get(repository=repository, name=project))
    return count


@transaction.atomic
def pypi_files_delete(*, repository: Repository, project: str, version: str = "",
                      filename: str = "") -> int:
    """Delete one file, or every file of a release. Raises NotFound."""
    files = (release_files(repository, project, version) if version
             else PypiFile.objects.filter(project__repository=repository, project__name=project))
    if filename:
        files = files.filter(filename=filename)
    paths = list(files.values_list("artifact__path", flat=True))
    if not paths:
        raise NotFound(f"'{project}' {version or filename} not found in '{repository.key}'")
    for path in paths:
        artifact_delete(repository=repository, path=path)
    return len(paths)


def virtual_allowlist_set(*, repository: Repository, names: list[str]) -> list[str]:
    """Set the projects a virtual repository may still take from remote members although a
    local member holds them. Raises BadRequest for a non-virtual repository or a bad name."""
    if not repository.is_virtual:
        raise BadRequest(f"'{repository.key}' is not a virtual repository")
    bad = [name for name in names if not isinstance(name, str) or not valid_project_name(name)]
    if bad:
        raise BadRequest(f"Not project names: {bad!r}")
    cleaned = sorted({normalize(name) for name in names})
    PypiVirtualPolicy.objects.update_or_create(repository=repository,
                                               defaults={"remote_allowlist": "\n".join(cleaned)})
    return cleaned
