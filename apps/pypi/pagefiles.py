"""Stored simple pages as node-local files, sent without reading their bytes from the database.

The database holds every page; a file here is only a copy, named by the page's ETag plus its
representation, so a name always means the same bytes: written once per node and page
version, safe to lose, never needed for correctness (DESIGN.md §7)."""

import gzip
import os
import tempfile
from functools import cache
from pathlib import Path

from django.conf import settings

from .models import PypiPage

KINDS = ("html", "json")


@cache
def pages_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "cache" / "pypi-pages"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def page_file(page: PypiPage, kind: str, *, gzipped: bool = False) -> Path | None:
    """The local file holding ``page``'s ``kind`` body (gzip-compressed when asked), written on
    first use, and only that one of the four (a page just built is asked for one form, and
    most pages only ever in one); None when the page changed in the database since ``page``
    was read (the caller reads it again)."""
    path = _path(page.etag, kind, gzipped)
    if path.exists():
        return path
    if kind in page.get_deferred_fields():
        body = (PypiPage.objects.filter(pk=page.pk, etag=page.etag)
                .values_list(kind, flat=True).first())
        if body is None:
            return None
    else:
        body = getattr(page, kind)
    body = bytes(body)
    _write(path, gzip.compress(body, compresslevel=6, mtime=0) if gzipped else body)
    return path


def pages_forget(etag: str) -> None:
    """Drop this node's copies of a page version that was replaced."""
    for kind in KINDS:
        for gzipped in (False, True):
            try:
                os.unlink(_path(etag, kind, gzipped))
            except FileNotFoundError:
                pass


def _path(etag: str, kind: str, gzipped: bool) -> Path:
    return pages_dir() / f"{etag}.{kind}{'.gz' if gzipped else ''}"


def _write(path: Path, body: bytes) -> None:
    # Aside, then renamed into place: a reader never sees half a page.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".page-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
    os.replace(temporary, path)
