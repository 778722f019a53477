"""Distribution files built in the test itself: wheels and sdists with exactly the metadata a
test needs (no build backend, no network)."""

import base64
import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path


def dist_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def core_metadata(name: str, version: str, *, requires_python: str | None = None,
                  requires_dist: tuple[str, ...] = (), summary: str = "") -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             f"Summary: {summary or f'{name} for tests'}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    return ("\n".join(lines) + "\n\n" + f"The {name} project.\n").encode()


def make_wheel(directory: Path, name: str, version: str, *, requires_python: str | None = None,
               requires_dist: tuple[str, ...] = (), metadata_name: str | None = None,
               metadata_version: str | None = None, filler: int = 0, tag: str = "py3-none-any") -> Path:
    """A pure-Python wheel installing package ``dist_name(name)`` with VERSION = version.
    ``metadata_*`` put other values in METADATA than in the filename (mislabelled wheels);
    ``filler`` adds that many random-looking bytes to make the wheel larger."""
    dist = dist_name(name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": f'VERSION = "{version}"\n'.encode(),
        f"{info}/METADATA": core_metadata(metadata_name or name, metadata_version or version,
                                          requires_python=requires_python, requires_dist=requires_dist),
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: {tag}\n".encode(),
    }
    if filler:
        files[f"{dist}/filler.bin"] = hashlib.shake_256(name.encode()).digest(filler)
    record = "".join(f"{path},sha256={_b64(hashlib.sha256(data).digest())},{len(data)}\n"
                     for path, data in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    path = Path(directory) / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def make_sdist(directory: Path, name: str, version: str, *, requires_python: str | None = None) -> Path:
    dist = dist_name(name)
    root = f"{dist}-{version}"
    path = Path(directory) / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, data in {
            f"{root}/PKG-INFO": core_metadata(name, version, requires_python=requires_python),
            f"{root}/{dist}/__init__.py": f'VERSION = "{version}"\n'.encode(),
        }.items():
            entry = tarfile.TarInfo(member)
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    return path


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
