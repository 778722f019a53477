"""Rendering simple pages (PEP 503 HTML, PEP 691 JSON) from one in-memory form.

A file entry is a dict in PEP 691's own shape (``filename``, ``url``, ``hashes``,
``requires-python``, ``core-metadata``, ``yanked``, ``size``, ``upload-time``). URLs are
relative to the page, so one stored page serves every host name and the /artifactory/ prefix.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from urllib.parse import quote

from packaging.version import InvalidVersion, Version

API_VERSION = "1.1"


@dataclass
class ProjectIndex:
    name: str  # normalised
    files: list[dict]
    versions: list[str] = field(default_factory=list)
    serial: int = 0


@dataclass
class RenderedPage:
    html: bytes
    json: bytes
    etag: str


def file_url(project: str, filename: str) -> str:
    """A file's URL relative to its project page (…/simple/<project>/)."""
    return f"../../packages/{quote(project)}/{quote(filename)}"


def upload_time(value: datetime | None) -> str | None:
    """PEP 700's form: 2026-11-24T20:55:01.123456Z."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_key(version: str) -> tuple:
    """PEP 440 order; versions that do not parse sort first, by their text."""
    try:
        return (1, Version(version), version)
    except InvalidVersion:
        return (0, Version("0"), version)


def sorted_versions(versions) -> list[str]:
    return sorted(set(versions), key=version_key)


def render_project(index: ProjectIndex) -> RenderedPage:
    files = sorted(index.files, key=lambda f: f["filename"])
    json_files = [_json_file(f) for f in files]
    json_body = json.dumps({
        "meta": {"api-version": _json_api_version(json_files), "_last-serial": index.serial},
        "name": index.name,
        "versions": index.versions,
        "files": json_files,
    }, separators=(",", ":")).encode()
    anchors = "".join(_html_anchor(f) for f in files)
    html_body = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>Links for {escape(index.name)}</title>\n  </head>\n  <body>\n"
        f"    <h1>Links for {escape(index.name)}</h1>\n{anchors}  </body>\n</html>\n"
    ).encode()
    return RenderedPage(html_body, json_body, _etag(html_body, json_body))


def render_project_list(names: list[str], serial: int = 0) -> RenderedPage:
    names = sorted(set(names))
    json_body = json.dumps({
        "meta": {"api-version": API_VERSION, "_last-serial": serial},
        "projects": [{"name": name} for name in names],
    }, separators=(",", ":")).encode()
    anchors = "".join(f'    <a href="{quote(name)}/">{escape(name)}</a>\n' for name in names)
    html_body = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        "    <title>Simple index</title>\n  </head>\n  <body>\n"
        f"{anchors}  </body>\n</html>\n"
    ).encode()
    return RenderedPage(html_body, json_body, _etag(html_body, json_body))


def _json_api_version(json_files: list[dict]) -> str:
    """PEP 700 makes ``size`` mandatory from 1.1 on. A file whose size nobody told us (an
    uncached file of an HTML-only upstream) makes the page 1.0, whose clients ignore the keys
    of 1.1 it still carries; a size is never made up."""
    return API_VERSION if all("size" in f for f in json_files) else "1.0"


def _json_file(entry: dict) -> dict:
    out = {
        "filename": entry["filename"],
        "url": entry["url"],
        "hashes": entry.get("hashes") or {},
        "requires-python": entry.get("requires-python") or None,
        "core-metadata": entry.get("core-metadata") or False,
        "yanked": entry.get("yanked") or False,
    }
    if entry.get("size") is not None:
        out["size"] = entry["size"]
    if entry.get("upload-time"):
        out["upload-time"] = entry["upload-time"]
    if entry.get("gpg-sig") is not None:
        out["gpg-sig"] = entry["gpg-sig"]
    return out


def _html_anchor(entry: dict) -> str:
    href = entry["url"]
    sha256 = (entry.get("hashes") or {}).get("sha256")
    if sha256:
        href += f"#sha256={sha256}"
    attrs = [f'href="{escape(href)}"']
    if entry.get("requires-python"):
        attrs.append(f'data-requires-python="{escape(entry["requires-python"])}"')
    metadata = entry.get("core-metadata")
    if metadata:
        value = "true" if metadata is True else "sha256=" + metadata.get("sha256", "")
        if metadata is not True and not metadata.get("sha256"):
            value = "true"
        # PEP 714: the new name, and the old one for installers that predate it.
        attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
    yanked = entry.get("yanked")
    if yanked:
        attrs.append("data-yanked" if yanked is True else f'data-yanked="{escape(yanked)}"')
    if entry.get("gpg-sig") is not None:
        attrs.append(f'data-gpg-sig="{"true" if entry["gpg-sig"] else "false"}"')
    return f'    <a {" ".join(attrs)}>{escape(entry["filename"])}</a><br />\n'


def _etag(html_body: bytes, json_body: bytes) -> str:
    return hashlib.sha256(html_body + b"\0" + json_body).hexdigest()[:32]
