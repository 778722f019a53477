"""Remote PyPI repositories: reading an upstream PEP 503/691 index (JSON when offered) and
keeping its facts exactly, in the PEPs' form (values of the wrong type dropped), with only the
file URLs rewritten to ours."""

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from packaging.utils import InvalidName, canonicalize_name

from apps.repositories.remote import UpstreamUnavailable, remote_document, remote_document_fetched

from .distributions import InvalidDistribution, parse_filename
from .pages import ProjectIndex, file_url, sorted_versions, upload_time

log = logging.getLogger(__name__)

ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
          "text/html;q=0.01")
# With a cached page in hand, an upstream slower than this to answer is treated as down:
# installers give up on us after 15 s by default (pip, uv).
STALE_TIMEOUT_SECS = 5
# After the upstream failed and a stale page answered, how long that page is used before the
# upstream is tried again (Artifactory's "assumed offline period").
ASSUMED_OFFLINE_SECS = 60


class UnreadablePage(ValueError):
    """An upstream answer that is not a simple page at all (an HTML login page sent as JSON)."""


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
    when upstream fails, or sends a page that cannot be read, and nothing is cached."""
    document, files = _project_files(repository, project)
    if document is None:
        return None
    upstream = _as_index(project, files, document.fetched)
    upstream.stale = document.stale
    return upstream


def remote_project_file(repository, project: str, filename: str) -> UpstreamFile | None:
    """What the upstream's page of ``project`` says of ``filename`` (cached as for
    remote_project_index), or None when it does not list it. Builds the one entry it needs,
    not an UpstreamFile (with its parsed filename) for every entry of the page. Raises
    UpstreamUnavailable as remote_project_index does."""
    if not filename:
        return None
    for entry in _project_files(repository, project)[1]:
        if entry["filename"] == filename:
            return _upstream_file(entry)
    return None


def remote_project_names(repository) -> list[str]:
    """The normalised names the upstream lists. Raises UpstreamUnavailable as
    remote_project_index does."""
    document, _ = _upstream_page(repository, "")
    if document is None:
        return []
    with _unreadable_as_unavailable(repository, "the project list"):
        return parse_project_list(document.body, document.content_type)


def _project_files(repository, project: str):
    """(the upstream's page of ``project``, its file entries); (None, []) when it has none."""
    document, url = _upstream_page(repository, project)
    if document is None:
        return None, []
    label = f"{project} from '{repository.key}'"
    with _unreadable_as_unavailable(repository, project):
        return document, parse_project_page(document.body, document.content_type, url, label=label)


def _upstream_page(repository, project: str):
    url = simple_url(repository, project)
    return remote_document(repository, document_key(project), url, headers={"Accept": ACCEPT},
                           stale_timeout=STALE_TIMEOUT_SECS,
                           check=_readable("projects" if project == "" else "files")), url


def _readable(key: str):
    """remote_document's check of an upstream answer before it replaces the cached copy: a JSON
    page must hold its ``key`` list (UnreadablePage is a ValueError: the cached copy stays)."""
    def check(body: bytes, content_type: str) -> None:
        if "json" in content_type:
            _json_list(body, key)
        else:
            _api_version(_html_version(body))
    return check


@contextmanager
def _unreadable_as_unavailable(repository, page: str):
    """A page that cannot be read is the upstream failing (502, or the next member of a
    virtual repository), not an error of ours."""
    try:
        yield
    except UnreadablePage as exc:
        log.warning("unreadable upstream page of %s from '%s': %s", page, repository.key, exc)
        raise UpstreamUnavailable(f"Upstream of '{repository.key}' sent a page that cannot be read") from exc


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


def parse_project_list(body: bytes, content_type: str) -> list[str]:
    """The normalised names of an upstream project list (PEP 691 JSON or PEP 503 HTML);
    names that are not project names are left out. Raises UnreadablePage."""
    if "json" in content_type:
        names = [p.get("name") for p in _json_list(body, "projects") if isinstance(p, dict)]
    else:
        names = [text for _, text in _anchors(body)]
    return [n for n in map(_project_name, names) if n]


def _project_name(name) -> str | None:
    try:
        return canonicalize_name(name.strip(), validate=True) if isinstance(name, str) else None
    except InvalidName:
        return None


def parse_project_page(body: bytes, content_type: str, page_url: str, *,
                       label: str = "an upstream project") -> list[dict]:
    """Files of an upstream project page (PEP 691 JSON or PEP 503 HTML) in PEP 691's shape,
    with absolute upstream URLs. An entry without a filename or URL is left out (``label``
    names the page in the warning), and so is every value of the wrong type. Raises
    UnreadablePage when the page is not one."""
    if "json" in content_type:
        entries = [_json_entry(f, page_url) for f in _json_list(body, "files")]
    else:
        entries = [_html_entry(attrs, text, page_url) for attrs, text in _anchors(body)]
    usable = [e for e in entries if e is not None]
    if len(usable) < len(entries):
        log.warning("left out %d malformed file entries of %s", len(entries) - len(usable), label)
    return usable


def _json_list(body: bytes, key: str) -> list:
    """The list under ``key`` of a JSON page. Raises UnreadablePage."""
    found = _json_object(body).get(key)
    if not isinstance(found, list):
        raise UnreadablePage(f"its '{key}' is not a list")
    return found


def _json_object(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # ValueError: JSONDecodeError, UnicodeDecodeError
        raise UnreadablePage("not JSON") from exc
    if not isinstance(document, dict):
        raise UnreadablePage("not a JSON object")
    meta = document.get("meta")
    _api_version(meta.get("api-version") if isinstance(meta, dict) else None)
    return document


def _api_version(version) -> None:
    """PEP 691 and PEP 629: a page of a major API version other than 1 cannot be read by a
    client of version 1 (an absent version is taken as 1.0). Raises UnreadablePage."""
    if version is not None and (not isinstance(version, str) or version.split(".", 1)[0].strip() != "1"):
        raise UnreadablePage(f"its API version {str(version)[:20]!r} is not 1.x")


def _json_entry(f, page_url: str) -> dict | None:
    if not isinstance(f, dict) or not _text(f.get("filename")) or not _text(f.get("url")):
        return None
    located = _file_url(page_url, f["url"])
    if located is None:
        return None
    url, fragment_hashes = located
    entry = {
        "filename": f["filename"],
        "url": url,
        "hashes": _hashes(f.get("hashes")) or fragment_hashes,
        "requires-python": _text(f.get("requires-python")),
        "core-metadata": _core_metadata(f.get("core-metadata", f.get("dist-info-metadata"))),
        "yanked": _yanked(f.get("yanked")),
    }
    size, uploaded, signed = f.get("size"), _upload_time(f.get("upload-time")), f.get("gpg-sig")
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        entry["size"] = size
    if uploaded:
        entry["upload-time"] = uploaded
    if isinstance(signed, bool):
        entry["gpg-sig"] = signed
    return entry


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _hashes(value) -> dict[str, str]:
    return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def _core_metadata(value) -> bool | dict:
    if isinstance(value, dict):
        return _hashes(value) or False
    return value if isinstance(value, bool) else False


def _yanked(value) -> bool | str:
    if isinstance(value, str):
        return value or True  # PEP 691: a reason is a non-empty string; "" still says yanked
    return value if isinstance(value, bool) else False


def _upload_time(value) -> str | None:
    """PEP 700's form of an ISO 8601 time, or None. A time without a zone is taken as UTC, as
    PyPI's JSON API gives its upload times."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return upload_time(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc))
    except (ValueError, OverflowError):  # not ISO 8601, or out of datetime's range in UTC
        return None


def _file_url(page_url: str, href: str) -> tuple[str, dict] | None:
    """A file's absolute URL without its fragment (the .metadata URL is made from it), and the
    hash the fragment names (PEP 503's ``#<hashname>=<hexdigest>``); None when it is no URL."""
    try:
        url, fragment = urldefrag(urljoin(page_url, href))
        urlsplit(url).port  # raises for a port that is not one, as fetching it later would
    except ValueError:
        return None
    name, _, value = fragment.partition("=")
    return url, ({name: value} if name and value else {})


def _html_entry(attrs: dict, text: str, page_url: str) -> dict | None:
    located = _file_url(page_url, attrs["href"]) if attrs.get("href") else None
    if located is None:
        return None
    url, hashes = located
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


def _anchors(body: bytes) -> list[tuple[dict, str]]:
    """The links of an HTML page. Raises UnreadablePage for a page of another major API
    version (PEP 629's pypi:repository-version)."""
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    _api_version(parser.version)
    return parser.anchors


def _html_version(body: bytes) -> str | None:
    """PEP 629's version of an HTML page, read from its head only (the links are not parsed)."""
    parser, text = _Anchors(), body.decode("utf-8", "replace")
    for start in range(0, len(text), 4096):
        parser.feed(text[start:start + 4096])
        if parser.in_body:
            break
    return parser.version


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict, str]] = []
        self._current: dict | None = None
        self._text: list[str] = []
        self.version: str | None = None
        self.in_body = False  # past the head, where the version is given

    def handle_starttag(self, tag, attrs):
        self.in_body = self.in_body or tag in ("body", "a")
        if tag == "meta" and ("name", "pypi:repository-version") in attrs:
            self.version = dict(attrs).get("content") or ""
        elif tag == "a":
            self._current = {name: (value if value is not None else "") for name, value in attrs}
            self._text = []

    def handle_data(self, data):
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text)))
            self._current = None
