"""HTTP plumbing shared by every protocol: request bodies as streams, and file responses
with conditional requests and byte ranges."""

import re
from collections.abc import Callable
from datetime import datetime
from typing import IO

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe, quote_etag

from .errors import BadRequest, RangeNotSatisfiable

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Files leave in blocks of this size: gunicorn copies them (repomgr/gunicorn_conf.py).
STREAM_BLOCK = 1024 * 1024


def whole_number(text: str | None) -> int | None:
    """``text`` as an int when it is ASCII digits only, else None (str.isdigit() alone also
    takes '²', which int() refuses)."""
    return int(text) if text and text.isascii() and text.isdigit() else None


def request_stream(request) -> tuple[IO[bytes], int | None]:
    """The raw request body and its declared length (None for a chunked body).

    Django only reads Content-Length bytes; a chunked body (docker PATCH, curl -T -) is
    read straight from the WSGI server, which decodes the chunks.
    """
    django_request = getattr(request, "_request", request)
    meta = django_request.META
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        return meta["wsgi.input"], None
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("Content-Length is not a number") from None
    return django_request, length


class BoundedFile:
    """A window [start, start+length) of an open file."""

    def __init__(self, file: IO[bytes], start: int, length: int):
        if start:
            file.seek(start)
        self._file = file
        self._remaining = length

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        size = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._file.read(size)
        self._remaining -= len(data)
        return data

    def close(self) -> None:
        self._file.close()


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, length) of a single 'bytes=' range, None to send everything.

    Raises RangeNotSatisfiable for a range wholly outside the content.
    """
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None  # multiple or malformed ranges: RFC 9110 lets us answer 200 with all of it
    first, last = match.groups()
    if first == "":
        length = min(int(last), size)
        return (size - length, length) if length else _unsatisfiable(size)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        _unsatisfiable(size)
    return start, end - start + 1


def _unsatisfiable(size: int):
    raise RangeNotSatisfiable("requested range is not satisfiable",
                              headers={"Content-Range": f"bytes */{size}"})


def serve_file(
    request: HttpRequest,
    *,
    opener: Callable[[], IO[bytes]],
    size: int,
    content_type: str,
    etag: str | None = None,
    last_modified: datetime | None = None,
    headers: dict | None = None,
    redirect_url: str | None = None,
) -> HttpResponse:
    """Answer GET/HEAD for stored bytes: 304 on a matching validator, 206 for a Range,
    a redirect when the store hands out URLs, otherwise the bytes."""
    timestamp = int(last_modified.timestamp()) if last_modified else None
    quoted = quote_etag(etag) if etag else None
    common = {"Accept-Ranges": "bytes", **(headers or {})}
    if quoted:
        common["ETag"] = quoted
    if timestamp is not None:
        common["Last-Modified"] = http_date(timestamp)

    not_modified = get_conditional_response(request, etag=quoted, last_modified=timestamp)
    if not_modified is not None:
        return _with_headers(not_modified, common)
    if redirect_url:
        return _with_headers(HttpResponseRedirect(redirect_url), common)

    window = _requested_window(request, size, quoted, timestamp)
    start, length = window or (0, size)
    status = 206 if window else 200
    if window:
        common["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type=content_type)
    else:
        response = file_response(BoundedFile(opener(), start, length), status=status,
                                 content_type=content_type)
    response["Content-Length"] = str(length)
    return _with_headers(response, common)


def file_response(file: IO[bytes], **kwargs) -> FileResponse:
    """A FileResponse of ``file`` whose bytes leave in STREAM_BLOCK blocks (Django's default is
    4 KB)."""
    response = FileResponse(file, **kwargs)
    response.block_size = STREAM_BLOCK
    return response


def _requested_window(request, size, quoted_etag, timestamp) -> tuple[int, int] | None:
    header = request.META.get("HTTP_RANGE")
    if not header or request.method not in ("GET", "HEAD"):
        return None
    if_range = request.META.get("HTTP_IF_RANGE")
    if if_range and not _if_range_matches(if_range, quoted_etag, timestamp):
        return None
    return parse_range(header, size)


def _if_range_matches(if_range: str, quoted_etag: str | None, timestamp: int | None) -> bool:
    if if_range.startswith(('"', 'W/"')):
        return quoted_etag is not None and if_range == quoted_etag
    since = parse_http_date_safe(if_range)
    return since is not None and timestamp is not None and timestamp <= since


def _with_headers(response: HttpResponse, headers: dict) -> HttpResponse:
    for name, value in headers.items():
        response[name] = value
    return response
