"""Reads of local PyPI facts. Callers have authorized the repository and project."""

from collections.abc import Iterable

from django.db.models import Exists, Max, OuterRef

from .distributions import same_version
from .models import PypiFile, PypiProject
from .pages import ProjectIndex, file_url, sorted_versions, upload_time


def project_serials(repositories: Iterable, name: str) -> dict[int, int]:
    """{repository id: serial} of project ``name`` in each repository holding it (one query)."""
    rows = PypiProject.objects.filter(repository__in=list(repositories), name=name)
    return dict(rows.values_list("repository_id", "serial"))


def projects_held(repositories: Iterable, name: str) -> set[int]:
    """Ids of the repositories in which project ``name`` has at least one file (one query)."""
    return set(PypiFile.objects.filter(project__repository__in=list(repositories), project__name=name)
               .values_list("project__repository_id", flat=True).distinct())


def repository_serial(repository) -> int:
    return PypiProject.objects.filter(repository=repository).aggregate(s=Max("serial"))["s"] or 0


def project_files(repository, name: str):
    return (PypiFile.objects.filter(project__repository=repository, project__name=name)
            .select_related("artifact__blob", "project").order_by("filename"))


def release_files(repository, name: str, version: str):
    """The files of ``name`` ``version`` in ``repository``, under every spelling PEP 440 takes
    for that version (1.0 and 1.0.0 are one release to pip and uv)."""
    files = PypiFile.objects.filter(project__repository=repository, project__name=name)
    spellings = {v for v in files.values_list("version", flat=True) if same_version(v, version)}
    return files.filter(version__in=spellings)


def release_paths(repository, name: str, version: str) -> list[str]:
    """The artifact paths of every file of ``name`` ``version`` in ``repository``."""
    return list(release_files(repository, name, version).values_list("artifact__path", flat=True))


def pypi_file_find(repository, name: str, filename: str) -> PypiFile | None:
    return project_files(repository, name).filter(filename=filename).first()


def local_project_index(repository, name: str) -> ProjectIndex | None:
    """The simple-page form of a local project, or None when it has no files."""
    files = list(project_files(repository, name))
    if not files:
        return None
    return ProjectIndex(
        name=name,
        files=[file_entry(f) for f in files],
        versions=sorted_versions(f.version for f in files),
        serial=files[0].project.serial,
    )


def file_entry(pypi_file: PypiFile) -> dict:
    blob = pypi_file.artifact.blob
    # PEP 658 metadata is offered for wheels: an sdist's PKG-INFO may leave fields dynamic.
    metadata = ({"sha256": pypi_file.core_metadata_sha256}
                if pypi_file.core_metadata_sha256 and pypi_file.packagetype == "bdist_wheel" else False)
    return {
        "filename": pypi_file.filename,
        "url": file_url(pypi_file.project.name, pypi_file.filename),
        "hashes": {"sha256": blob.sha256},
        "requires-python": pypi_file.requires_python or None,
        "core-metadata": metadata,
        "yanked": (pypi_file.yanked_reason or True) if pypi_file.yanked else False,
        "size": blob.size,
        "upload-time": upload_time(pypi_file.upload_time),
        "version": pypi_file.version,
    }


def local_project_names(repository) -> list[str]:
    """Projects of a local repository that have at least one file."""
    has_files = PypiFile.objects.filter(project=OuterRef("pk"))
    return list(PypiProject.objects.filter(repository=repository)
                .filter(Exists(has_files)).values_list("name", flat=True))
