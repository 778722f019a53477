"""Remote PyPI repositories: reading an upstream PEP 503/691 index (JSON when offered) and
keeping its facts exactly, with only the file URLs rewritten to ours."""

import json
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from apps.repositories.remote import remote_document, remote_document_fetched

from .distributions import InvalidDistribution, normalize, parse_filename
from .pages import ProjectIndex, file_url, sorted_versions

ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
          "text/html;q=0.01")
# With a cached page in hand, an upstream slower than this to answer is treated as down:
# installers give up on us after 15 s by default (pip, uv).
STALE_TIMEOUT_SECS = 5
# After the upstream failed and a stale page answered, how long that page is used before the
# upstream is tried again (Artifactory's "assumed offline period").
ASSUMED_OFFLINE_SECS = 60


@dataclass
class UpstreamFile:
    url: str
    sha256: str
    core_metadata: object  # False, True or {"sha256": ...}


@dataclass
class UpstreamIndex:
    index: ProjectIndex
    fetched: datetime
    stale: bool = False  # the upstream failed; this is the last copy it gave


def simple_url(repository, project: str = "") -> str:
    """The upstream's simple URL: the repository URL, with /simple/ added unless it ends so."""
    base = repository.url.rstrip("/")
    if not base.endswith("/simple"):
        base += "/simple"
    return f"{base}/{quote(project)}/" if project else base + "/"


def _no_credentials(request):
    return request


def credentials_for(repository, url: str):
    """The ``auth`` for fetching ``url``: the repository's own credentials (None) on its
    upstream's origin; none at all elsewhere (index pages may send files to another host, which
    must never see them)."""
    ours, theirs = urlsplit(repository.url), urlsplit(url)
    same = (ours.scheme, ours.hostname, ours.port) == (theirs.scheme, theirs.hostname, theirs.port)
    return None if same else _no_credentials


def document_key(project: str) -> str:
    return "simple:" + project


def remote_index_fetched(repository, project: str) -> tuple[datetime, datetime] | None:
    """(fetched, fresh until) of the cached upstream page of ``project`` ('' = the list), while
    it is fresh; else None."""
    return remote_document_fetched(repository, document_key(project))


def remote_project_index(repository, project: str) -> UpstreamIndex | None:
    """The upstream's page for ``project`` (cached for the metadata TTL, stale when the
    upstream fails), or None when upstream has no such project. Raises UpstreamUnavailable
    when upstream fails and nothing is cached."""
    document, url = _project_document(repository, project)
    if document is None:
        return None
    files = parse_project_page(document.body, document.content_type, url)
    upstream = _as_index(project, files, document.fetched)
    upstream.stale = document.stale
    return upstream


def remote_project_file(repository, project: str, filename: str) -> UpstreamFile | None:
    """What the upstream's page of ``project`` says of ``filename`` (cached as for
    remote_project_index), or None when it does not list it. Builds the one entry it needs,
    not an UpstreamFile (with its parsed filename) for every entry of the page. Raises
    UpstreamUnavailable as remote_project_index does."""
    document, url = _project_document(repository, project)
    if document is None or not filename:
        return None
    for entry in parse_project_page(document.body, document.content_type, url):
        if entry["filename"] == filename:
            return _upstream_file(entry)
    return None


def _project_document(repository, project: str):
    url = simple_url(repository, project)
    return remote_document(repository, document_key(project), url, headers={"Accept": ACCEPT},
                           stale_timeout=STALE_TIMEOUT_SECS), url


def remote_project_names(repository) -> list[str]:
    url = simple_url(repository)
    document = remote_document(repository, document_key(""), url, headers={"Accept": ACCEPT},
                               stale_timeout=STALE_TIMEOUT_SECS)
    if document is None:
        return []
    if "json" in document.content_type:
        return [normalize(p["name"]) for p in json.loads(document.body)["projects"]]
    parser = _Anchors()
    parser.feed(document.body.decode("utf-8", "replace"))
    return [normalize(text) for _, text in parser.anchors if text.strip()]


def _as_index(project: str, upstream_files: list[dict], fetched) -> UpstreamIndex:
    entries, seen = [], set()
    for entry in upstream_files:
        filename = entry["filename"]
        if filename in seen or not filename or "/" in filename:
            continue
        seen.add(filename)
        ours = {**entry, "url": file_url(project, filename)}
        try:
            ours["version"] = parse_filename(filename).version
        except InvalidDistribution:
            pass
        entries.append(ours)
    versions = sorted_versions(e["version"] for e in entries if "version" in e)
    return UpstreamIndex(ProjectIndex(name=project, files=entries, versions=versions), fetched)


def _upstream_file(entry: dict) -> UpstreamFile:
    return UpstreamFile(entry["url"], entry.get("hashes", {}).get("sha256", ""),
                        entry.get("core-metadata") or False)


def parse_project_page(body: bytes, content_type: str, page_url: str) -> list[dict]:
    """Files of an upstream project page (PEP 691 JSON or PEP 503 HTML) in PEP 691's shape,
    with absolute upstream URLs."""
    if "json" in content_type:
        return [_json_entry(f, page_url) for f in json.loads(body).get("files", [])]
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    return [_html_entry(attrs, text, page_url) for attrs, text in parser.anchors]


def _json_entry(f: dict, page_url: str) -> dict:
    metadata = f.get("core-metadata", f.get("dist-info-metadata", False))
    entry = {
        "filename": f["filename"],
        "url": urljoin(page_url, f["url"]),
        "hashes": f.get("hashes") or {},
        "requires-python": f.get("requires-python"),
        "core-metadata": metadata if metadata else False,
        "yanked": f.get("yanked", False),
    }
    for key in ("size", "upload-time", "gpg-sig"):
        if f.get(key) is not None:
            entry[key] = f[key]
    return entry


def _html_entry(attrs: dict, text: str, page_url: str) -> dict:
    url, fragment = urldefrag(urljoin(page_url, attrs.get("href", "")))
    hashes = {}
    if "=" in fragment:
        name, _, value = fragment.partition("=")
        hashes[name] = value
    metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
    entry = {
        "filename": text.strip() or url.rsplit("/", 1)[-1],
        "url": url,
        "hashes": hashes,
        "requires-python": attrs.get("data-requires-python") or None,
        "core-metadata": _html_metadata(metadata),
        "yanked": (attrs["data-yanked"] or True) if "data-yanked" in attrs else False,
    }
    if "data-gpg-sig" in attrs:
        entry["gpg-sig"] = attrs["data-gpg-sig"] == "true"
    return entry


def _html_metadata(value: str | None):
    if value is None:
        return False
    if value == "true" or "=" not in value:
        return True
    name, _, digest = value.partition("=")
    return {name: digest}


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict, str]] = []
        self._current: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._current = {name: (value if value is not None else "") for name, value in attrs}
            self._text = []

    def handle_data(self, data):
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text)))
            self._current = None
