"""Validation of artifact paths taken from URLs: nothing that could escape a repository passes."""

import re
from urllib.parse import unquote

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_PATH_LENGTH = 1024


class InvalidPath(ValueError):
    pass


def clean_path(raw: str, *, allow_empty: bool = False) -> str:
    """Return ``raw`` as a relative path with no empty, '.' or '..' segments.

    Raises InvalidPath for traversal in any spelling: '..', percent-encoded once or twice,
    backslashes, absolute paths, NUL and other control characters.
    """
    path = raw[:-1] if raw.endswith("/") else raw
    if not path:
        if allow_empty:
            return ""
        raise InvalidPath("an artifact path is required")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPath(f"path is longer than {MAX_PATH_LENGTH} characters")
    # A later hop (proxy, client, another server) may decode again: check every decoding.
    decoded, previous = path, None
    while decoded != previous:
        _check(decoded)
        previous, decoded = decoded, unquote(decoded)
    return path


def _check(path: str) -> None:
    if _CONTROL.search(path):
        raise InvalidPath("path contains control characters")
    if "\\" in path:
        raise InvalidPath("path contains a backslash")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise InvalidPath("path must be relative")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidPath("path contains an empty, '.' or '..' segment")


def parent_folders(path: str) -> list[str]:
    """'a/b/c.txt' -> ['a', 'a/b']."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
