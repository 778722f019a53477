"""Distribution files as the standards define them: filenames (wheel and sdist), the core
metadata inside them, and checks that the two agree. Pure functions over bytes and files."""

import re
import tarfile
import zipfile
from dataclasses import dataclass
from typing import IO

from packaging.metadata import Metadata, parse_email
from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, canonicalize_name,
                             canonicalize_version, parse_sdist_filename, parse_wheel_filename)
from packaging.version import InvalidVersion, Version

from apps.core.errors import BadRequest

MAX_METADATA_BYTES = 16 * 1024 * 1024
# PEP 508's name; ASCII, since with IGNORECASE alone [A-Z] also matches 'ſ', 'ı', 'İ' and 'K'.
_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE | re.ASCII)
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
    return bool(_NAME.fullmatch(name))


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


def read_core_metadata(file: IO[bytes], filename: str, *, dist: DistributionName | None = None) -> bytes:
    """The METADATA of a wheel or the PKG-INFO of an sdist. With ``dist`` (what an upload's
    filename says), a wheel's .dist-info directory must be that project's and version's, as
    PyPI requires. Raises InvalidDistribution when the file is not a readable archive of that
    kind, lacks the metadata or has it in another project's directory."""
    kind = "wheel" if filename.endswith(".whl") else "sdist"
    try:
        file.seek(0)
        if filename.endswith(".tar.gz"):
            return _from_tar(file)
        if kind == "sdist":
            return _from_zip(file, _PKG_INFO_IN_SDIST)
        return _from_zip(file, _METADATA_IN_WHEEL, dist)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise InvalidDistribution(f"{filename} is not a valid {kind}: {exc}") from None


def _from_zip(file: IO[bytes], pattern: re.Pattern, dist: DistributionName | None = None) -> bytes:
    with zipfile.ZipFile(file) as archive:
        found = [info for info in archive.infolist() if pattern.fullmatch(info.filename)]
        if len(found) != 1:
            raise ValueError(f"expected one metadata file, found {len(found)}")
        if dist is not None:
            _check_dist_info(found[0].filename.split("/")[0], dist)
        if found[0].file_size > MAX_METADATA_BYTES:
            raise ValueError("the metadata file is too large")
        return archive.read(found[0])


def _check_dist_info(directory: str, dist: DistributionName) -> None:
    name, _, version = directory.removesuffix(".dist-info").rpartition("-")
    if normalize(name) != dist.project or not same_version(version, dist.version):
        raise InvalidDistribution(
            f"The wheel's {directory} directory is not for {dist.project} {dist.version}, as its filename says")


def _from_tar(file: IO[bytes]) -> bytes:
    with tarfile.open(fileobj=file, mode="r:gz") as archive:
        for member in archive:
            if _PKG_INFO_IN_SDIST.fullmatch(member.name) and member.isfile():
                if member.size > MAX_METADATA_BYTES:
                    raise ValueError("the metadata file is too large")
                return archive.extractfile(member).read()
    raise ValueError("no PKG-INFO at the top of the archive")


# What an index serves or resolves by. Only these are validated: packaging's full validation
# refuses metadata that real, installable files carry and PyPI accepted (setuptools wrote
# License-File under Metadata-Version 2.1 for years, hatchling License-Expression under 2.3).
_CHECKED = ("metadata_version", "name", "version", "requires_python", "requires_dist")
_CHECKED_EMAIL = {key.replace("_", "-") for key in _CHECKED}
_REQUIRED = {"metadata_version": "Metadata-Version", "name": "Name", "version": "Version"}


def metadata_fields(core_metadata: bytes) -> dict:
    """The parsed core metadata (packaging's raw form: lower-case keys, lists for multi-use
    fields). Raises InvalidDistribution when Metadata-Version, Name or Version is missing, or
    a field an index reads (``_CHECKED``) is not valid."""
    if b"\0" in core_metadata:
        raise InvalidDistribution("The core metadata contains a NUL character")
    raw, unparsed = parse_email(core_metadata)
    garbled = sorted(key for key in unparsed if key.lower() in _CHECKED_EMAIL)
    if garbled:
        raise InvalidDistribution(f"The core metadata's {garbled[0]!r} is repeated or not UTF-8")
    missing = [label for key, label in _REQUIRED.items() if not raw.get(key)]
    if missing:
        raise InvalidDistribution(f"The core metadata lacks {' and '.join(missing)}")
    if not valid_project_name(raw["name"]):
        raise InvalidDistribution(f"Invalid project name {raw['name']!r}: a name is ASCII letters, "
                                  "digits, '.', '_' and '-', and starts and ends with a letter or digit")
    _check_fields(raw)
    return raw


def _check_fields(raw: dict) -> None:
    checked = {key: raw[key] for key in _CHECKED if key in raw}
    if checked.get("metadata_version") == "2.0":
        # Never standardised, but bdist_wheel wrote it from 2014 to 2017 and PyPI holds many such
        # wheels; the fields checked here mean in it what they mean in 2.1.
        checked["metadata_version"] = "2.1"
    try:
        Metadata.from_raw(checked, validate=True)
    except ExceptionGroup as errors:
        problems = "; ".join(str(error) for error in errors.exceptions)
        raise InvalidDistribution(f"Invalid core metadata: {problems}") from None


def check_agreement(dist: DistributionName, fields: dict, *, form_name: str = "",
                    form_version: str = "") -> None:
    """The filename, the metadata inside the file and the upload form must name the same
    project and version. Raises InvalidDistribution."""
    meta_name, meta_version = fields["name"], fields["version"]
    if normalize(meta_name) != dist.project:
        raise InvalidDistribution(
            f"The file's metadata names project {meta_name!r}, its filename says {dist.project!r}")
    if not same_version(meta_version, dist.version):
        raise InvalidDistribution(
            f"The file's metadata says version {meta_version!r}, its filename says {dist.version!r}")
    if form_name and normalize(form_name) != dist.project:
        raise InvalidDistribution(f"The form names project {form_name!r}, the file is {dist.project!r}")
    if form_version and not same_version(form_version, dist.version):
        raise InvalidDistribution(f"The form says version {form_version!r}, the file is {dist.version!r}")


def same_version(a: str, b: str) -> bool:
    """Whether two spellings name one version (PEP 440: 1.0 == 1.0.0)."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return canonicalize_version(a) == canonicalize_version(b)
