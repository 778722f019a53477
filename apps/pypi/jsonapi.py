"""The PyPI JSON API (``/pypi/<project>/json``, ``/pypi/<project>/<version>/json``) for every
repository class, built from the same stored simple page the installers get, plus the core
metadata of the release it describes."""

import json

from packaging.metadata import parse_email
from packaging.version import InvalidVersion, Version

from .coremetadata import core_metadata_resolve
from .distributions import InvalidDistribution, parse_filename, same_version
from .indexes import project_page
from .pages import version_key

_MULTI = {"classifiers", "requires_dist", "provides_extra", "platforms", "dynamic",
          "license_files", "supported_platforms"}
_INFO_TEXT = ("author", "author_email", "description", "description_content_type", "download_url",
              "home_page", "keywords", "license", "license_expression", "maintainer",
              "maintainer_email", "requires_python", "summary")


def project_json(user, repository, project: str, version: str | None, base: str) -> dict | None:
    """The JSON API document, or None when the project (or that version) is not there.
    ``base`` is the absolute URL of the repository's PyPI API (…/api/pypi/<repo>)."""
    page = project_page(user, repository, project)
    if page is None:
        return None
    simple = json.loads(bytes(page.json))
    releases: dict[str, list[dict]] = {v: [] for v in simple["versions"]}
    for entry in simple["files"]:
        item = _file(entry, base, project)
        if item is not None:
            releases.setdefault(item.pop("_version"), []).append(item)
    chosen = version or _latest(releases)
    if chosen not in releases:
        chosen = next((v for v in releases if same_version(v, chosen)), None) if chosen else None
        if chosen is None:
            return None
    urls = releases[chosen]
    document = {
        "info": _info(user, repository, project, chosen, urls, base),
        "last_serial": page.serial,
        "urls": urls,
        "vulnerabilities": [],
    }
    if version is None:
        document["releases"] = releases
    return document


def _file(entry: dict, base: str, project: str) -> dict | None:
    try:
        dist = parse_filename(entry["filename"])
    except InvalidDistribution:
        return None
    sha256 = entry["hashes"].get("sha256")
    yanked = entry.get("yanked") or False
    uploaded = entry.get("upload-time")
    return {
        "_version": dist.version,
        "comment_text": "",
        "digests": {"sha256": sha256} if sha256 else {},
        "downloads": -1,
        "filename": entry["filename"],
        "has_sig": False,
        "packagetype": dist.packagetype,
        "python_version": dist.python_version,
        "requires_python": entry.get("requires-python"),
        "size": entry.get("size"),
        "upload_time": uploaded[:19] if uploaded else None,
        "upload_time_iso_8601": uploaded,
        "url": f"{base}/packages/{project}/{entry['filename']}",
        "yanked": bool(yanked),
        "yanked_reason": yanked if isinstance(yanked, str) else None,
        "core-metadata": entry.get("core-metadata") or False,
    }


def _latest(releases: dict[str, list[dict]]) -> str | None:
    """The newest final release with a file not yanked, else the newest of anything."""
    def usable(v):
        return any(not f["yanked"] for f in releases[v])

    def final(v):
        try:
            return not Version(v).is_prerelease
        except InvalidVersion:
            return False

    for wanted in (lambda v: usable(v) and final(v), usable, lambda v: True):
        candidates = [v for v in releases if releases[v] and wanted(v)]
        if candidates:
            return max(candidates, key=version_key)
    return None


def _info(user, repository, project, version, urls, base) -> dict:
    info = {key: None for key in _INFO_TEXT}
    info.update({
        "name": project, "version": version, "bugtrack_url": None, "docs_url": None,
        "classifiers": [], "requires_dist": None, "provides_extra": None, "platform": None,
        "project_urls": None, "dynamic": None, "license_files": None,
        "package_url": f"{base}/pypi/{project}/", "project_url": f"{base}/pypi/{project}/",
        "release_url": f"{base}/pypi/{project}/{version}/",
        "yanked": bool(urls) and all(f["yanked"] for f in urls),
        "yanked_reason": next((f["yanked_reason"] for f in urls if f["yanked_reason"]), None),
    })
    info["requires_python"] = next((f["requires_python"] for f in urls if f["requires_python"]), None)
    # Advertised metadata (a wheel's first); else an sdist's PKG-INFO, which local files keep.
    # Never a wheel without it: that would download the whole wheel to answer a JSON request.
    candidates = sorted((f for f in urls if f["core-metadata"]),
                        key=lambda f: f["packagetype"] != "bdist_wheel")
    candidates += [f for f in urls if not f["core-metadata"] and f["packagetype"] == "sdist"]
    for candidate in candidates[:2]:
        raw = core_metadata_resolve(user, repository, project, candidate["filename"])
        if raw:
            info.update(_metadata_info(raw))
            break
    return info


def _metadata_info(core_metadata: bytes) -> dict:
    raw, _ = parse_email(core_metadata)
    info = {key: raw.get(key) for key in _INFO_TEXT if raw.get(key) is not None}
    if "keywords" in raw:
        info["keywords"] = ",".join(raw["keywords"])
    for key in _MULTI:
        if key in raw:
            info["platform" if key == "platforms" else key] = raw[key]
    if "project_urls" in raw:
        info["project_urls"] = raw["project_urls"]
    info["name"] = raw.get("name")
    return info
