"""Distribution files as the standards define them: filenames (wheel and sdist), the core
metadata inside them, and checks that the two agree. Pure functions over bytes and files."""

import re
import tarfile
import zipfile
from dataclasses import dataclass
from typing import IO

from packaging.metadata import parse_email
from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, canonicalize_name,
                             canonicalize_version, parse_sdist_filename, parse_wheel_filename)
from packaging.version import InvalidVersion, Version

from apps.core.errors import BadRequest

MAX_METADATA_BYTES = 16 * 1024 * 1024
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_METADATA_IN_WHEEL = re.compile(r"^[^/]+\.dist-info/METADATA$")
_PKG_INFO_IN_SDIST = re.compile(r"^[^/]+/PKG-INFO$")


class InvalidDistribution(BadRequest):
    """A distribution file that is not what its name or the upload form says it is."""


@dataclass(frozen=True)
class DistributionName:
    project: str  # normalised
    version: str
    packagetype: str  # bdist_wheel | sdist
    python_version: str


def normalize(name: str) -> str:
    return canonicalize_name(name)


def valid_project_name(name: str) -> bool:
    return bool(_NAME.match(name))


def parse_filename(filename: str) -> DistributionName:
    """What a wheel or sdist filename says. Raises InvalidDistribution for anything else,
    including names with path parts."""
    if not filename or "/" in filename or "\\" in filename or filename.startswith(".") \
            or any(not ch.isprintable() for ch in filename):
        raise InvalidDistribution(f"Invalid filename {filename!r}: it must be a bare file name")
    try:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
            python = ".".join(sorted({tag.interpreter for tag in tags}))
            return DistributionName(str(name), str(version), "bdist_wheel", python)
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return DistributionName(str(name), str(version), "sdist", "source")
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        raise InvalidDistribution(f"Invalid distribution filename {filename!r}: {exc}") from None
    raise InvalidDistribution(
        f"Invalid distribution filename {filename!r}: only wheels (.whl) and sdists (.tar.gz, .zip) are accepted")


def read_core_metadata(file: IO[bytes], filename: str) -> bytes:
    """The METADATA of a wheel or the PKG-INFO of an sdist. Raises InvalidDistribution when
    the file is not a readable archive of that kind or lacks the metadata."""
    kind = "wheel" if filename.endswith(".whl") else "sdist"
    try:
        file.seek(0)
        if filename.endswith(".tar.gz"):
            return _from_tar(file)
        pattern = _METADATA_IN_WHEEL if kind == "wheel" else _PKG_INFO_IN_SDIST
        return _from_zip(file, pattern)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise InvalidDistribution(f"{filename} is not a valid {kind}: {exc}") from None


def _from_zip(file: IO[bytes], pattern: re.Pattern) -> bytes:
    with zipfile.ZipFile(file) as archive:
        found = [info for info in archive.infolist() if pattern.match(info.filename)]
        if len(found) != 1:
            raise ValueError(f"expected one metadata file, found {len(found)}")
        if found[0].file_size > MAX_METADATA_BYTES:
            raise ValueError("the metadata file is too large")
        return archive.read(found[0])


def _from_tar(file: IO[bytes]) -> bytes:
    with tarfile.open(fileobj=file, mode="r:gz") as archive:
        for member in archive:
            if _PKG_INFO_IN_SDIST.match(member.name) and member.isfile():
                if member.size > MAX_METADATA_BYTES:
                    raise ValueError("the metadata file is too large")
                return archive.extractfile(member).read()
    raise ValueError("no PKG-INFO at the top of the archive")


def metadata_fields(core_metadata: bytes) -> dict:
    """The parsed core metadata (packaging's raw form: lower-case keys, lists for multi-use
    fields). Raises InvalidDistribution when Name or Version is missing."""
    raw, _ = parse_email(core_metadata)
    if not raw.get("name") or not raw.get("version"):
        raise InvalidDistribution("The core metadata lacks Name or Version")
    return raw


def check_agreement(dist: DistributionName, fields: dict, *, form_name: str = "",
                    form_version: str = "") -> None:
    """The filename, the metadata inside the file and the upload form must name the same
    project and version. Raises InvalidDistribution."""
    meta_name, meta_version = fields["name"], fields["version"]
    if normalize(meta_name) != dist.project:
        raise InvalidDistribution(
            f"The file's metadata names project {meta_name!r}, its filename says {dist.project!r}")
    if not _same_version(meta_version, dist.version):
        raise InvalidDistribution(
            f"The file's metadata says version {meta_version!r}, its filename says {dist.version!r}")
    if form_name and normalize(form_name) != dist.project:
        raise InvalidDistribution(f"The form names project {form_name!r}, the file is {dist.project!r}")
    if form_version and not _same_version(form_version, dist.version):
        raise InvalidDistribution(f"The form says version {form_version!r}, the file is {dist.version!r}")


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return canonicalize_version(a) == canonicalize_version(b)
