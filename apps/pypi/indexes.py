"""What a PyPI repository shows, for local, remote and virtual repositories alike: its simple
pages, stored once per state of what they show (DESIGN.md §8), and where each file comes from.

A page's *state* names everything it was built from: the serials of local projects, the fetch
times of upstream pages, the configuration of every repository involved. A request computes
the state in a constant number of small queries and, when it matches the stored page, answers
with the stored bytes. A virtual repository merges its readable members in order, local first;
a project any local member holds hides the remote members' files of that name unless the
virtual repository's allow list names it (dependency confusion), whether or not the caller may
read that local member."""

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from apps.core.db import fetch_one, model_from_row, write_row
from apps.packages.selectors import artifact_find_first
from apps.repositories.models import Repository
from apps.repositories.remote import UpstreamUnavailable, remote_file
from apps.repositories.resolve import first_found, readable_sources
from apps.repositories.selectors import repository_accepts, resolution_order
from apps.security.authorization import authorize, read_restriction

from .distributions import normalize
from .models import PypiFile, PypiPage, PypiProject, PypiVirtualPolicy
from .pagefiles import pages_forget
from .pages import ProjectIndex, render_project, render_project_list, sorted_versions
from .selectors import (local_project_index, local_project_names, project_serials, projects_held,
                        pypi_file_find, repository_serial)
from .services import artifact_path
from .upstream import (ASSUMED_OFFLINE_SECS, UpstreamFile, credentials_for, remote_index_fetched,
                       remote_project_file, remote_project_index, remote_project_names)

log = logging.getLogger(__name__)
PYPI = Repository.PackageType.PYPI
# Part of every page's state: bump it when the rendering changes, so stored pages are rebuilt.
PAGE_FORMAT = "2"


def sources_for(user, repository: Repository, path: str, *, folder: bool = False) -> list[Repository]:
    """The readable PyPI repositories behind ``repository`` for ``path``, in resolution order."""
    return [s for s in readable_sources(user, repository, path, folder=folder)
            if s.package_type == PYPI]


def _locals(repository: Repository, sources: list[Repository]) -> list[Repository]:
    """The local repositories whose projects a page or file of ``repository`` depends on: the
    local ``sources``, and when a remote member is among them, every local PyPI member of the
    virtual repository. A project one of those holds hides the remote members' files of it
    for every caller, including one who may not read the member that holds it."""
    found = [s for s in sources if s.is_local]
    if repository.is_virtual and any(s.is_remote for s in sources):
        found += [m for m in resolution_order(repository)
                  if m.is_local and m.package_type == PYPI and m not in found]
    return found


def allowlist(virtual: Repository) -> tuple[set[str], str]:
    """(normalised names, state tag) of the virtual repository's remote allow list."""
    policy = PypiVirtualPolicy.objects.filter(repository=virtual).first()
    if policy is None:
        return set(), "-"
    names = {normalize(n) for n in policy.remote_allowlist.replace("\n", ",").split(",") if n.strip()}
    return names, _allow_tag(policy.remote_allowlist)


def _allow_tag(text: str | None) -> str:
    return "-" if text is None else hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class _Plan:
    """What a page of ``repository`` is built from for this caller.

    ``state`` is "<local part>#<remote part>": the local part (configuration, local serials,
    allow list) is checked on every request; the remote part (upstream fetch times) only after
    ``fresh_until``, when the first upstream page it was built from may have changed."""

    repository: Repository
    project: str
    sources: list[Repository]
    serials: dict[int, int]
    hide_remotes: bool
    state: str
    variant: str
    fresh_until: datetime | None
    upstream: dict  # repository id -> what _asked_once got while computing the state
    user: object = None
    restricted: dict = field(default_factory=dict)  # repository id -> read_restriction()


def project_page(user, repository: Repository, project: str) -> PypiPage | None:
    """The stored simple page of ``project`` as ``user`` may see it (built if out of date), or
    None when no readable source has the project. Raises UpstreamUnavailable when an upstream
    is needed, fails, and nothing of it is cached."""
    sources = sources_for(user, repository, project, folder=True)
    if not sources:
        return None
    restricted = {s.pk: read_restriction(user, s) for s in sources}
    variant = _variant(repository, sources, restricted)
    locals_ = _locals(repository, sources)
    page = _page_probe(repository, project, variant, locals_)
    if page is not None:
        local_state = _local_state(repository, sources, locals_, page.probed_serials, page.probed_allow)
        fresh = page.fresh_until is None or timezone.now() < page.fresh_until
        if fresh and page.state.startswith(local_state + "#"):
            return page  # the hot path: one query besides the caller's authorization
    plan = _plan(repository, project, sources, locals_, variant, cold=page is None)
    plan.user, plan.restricted = user, restricted
    if page is not None and page.state == plan.state:
        PypiPage.objects.filter(pk=page.pk).update(fresh_until=plan.fresh_until)
        return page
    index = _build_index(plan)
    if index is None:
        return None
    if set(plan.serials) == {repository.pk}:
        index.serial = plan.serials[repository.pk]
    else:
        index.serial = (page.serial if page else 0) + 1
    return _store(repository, project, variant, plan.state, index.serial, render_project(index),
                  replaces=page, fresh_until=plan.fresh_until)


def _variant(repository, sources, restricted: dict[int, str]) -> str:
    """Which stored page a caller gets: one per set of readable members of a virtual
    repository and per set of path patterns that restrict the caller ('' for the common case:
    a local or remote repository the caller may read all of)."""
    if not repository.is_virtual and not any(restricted.values()):
        return ""
    variant = ",".join(f"{s.pk}:{restricted[s.pk]}" if restricted[s.pk] else str(s.pk) for s in sources)
    return variant if len(variant) <= 200 else hashlib.sha256(variant.encode()).hexdigest()


def _page_probe(repository, project: str, variant: str, locals_) -> PypiPage | None:
    """The stored page (bodies deferred) with, in the same query, the current serial of the
    project in each of ``locals_`` and the allow list, in one prepared statement (fetch_one): on
    this path the ORM's query compiler and PostgreSQL's planner cost more than the lookup."""
    local_ids = [s.pk for s in locals_]
    serials = "".join(f", (SELECT serial FROM {_PROJECTS} WHERE repository_id = %s AND name = %s)"
                      f" AS serial_{pk}" for pk in local_ids)
    sql = (f"SELECT {', '.join(_PROBED)}, "
           f"(SELECT remote_allowlist FROM {_POLICIES} WHERE repository_id = %s)"
           f"{serials} FROM {_PAGES} WHERE repository_id = %s AND project = %s AND variant = %s")
    params = [repository.pk, *[v for pk in local_ids for v in (pk, project)], repository.pk, project, variant]
    row = fetch_one(sql, params)
    if row is None:
        return None
    page = model_from_row(PypiPage, row[:len(_PROBED)], _PROBED)
    allowlist, *serials = row[len(_PROBED):]
    page.probed_serials = {pk: serial for pk, serial in zip(local_ids, serials) if serial is not None}
    page.probed_allow = _allow_tag(allowlist)
    return page


_PROBED = ("id", "repository_id", "project", "variant", "state", "serial", "etag", "fresh_until")


_PAGES = PypiPage._meta.db_table
_PROJECTS = PypiProject._meta.db_table
_POLICIES = PypiVirtualPolicy._meta.db_table


def _local_state(repository, sources, locals_, serials: dict[int, int], allow_tag: str) -> str:
    parts = [PAGE_FORMAT, f"R{repository.pk}@{repository.modified.timestamp()}", "A" + allow_tag]
    parts += [f"{s.pk}@{s.modified.timestamp()}:{serials.get(s.pk, '-') if s.is_local else ''}"
              for s in sources]
    parts += [f"G{s.pk}:{serials.get(s.pk, '-')}" for s in locals_ if s not in sources]
    return "|".join(parts)


def _plan(repository, project, sources, locals_, variant: str, *, cold: bool = False) -> _Plan:
    serials = project_serials(locals_, project) if locals_ else {}
    allowed, allow_tag = (allowlist(repository) if repository.is_virtual else (set(), "-"))
    # Decided from the serials' state: whether a local member holds files of the project.
    hide_remotes = (repository.is_virtual and project not in allowed and bool(serials)
                    and any(s.is_remote for s in sources) and bool(projects_held(locals_, project)))
    upstream, remote_parts, fresh_until = {}, [], None
    for source in sources:
        if source.is_remote and not hide_remotes:
            tag, until = _remote_state(source, project, upstream, cold=cold)
            remote_parts.append(f"{source.pk}:{tag}")
            fresh_until = until if fresh_until is None else min(fresh_until, until)
    state = _local_state(repository, sources, locals_, serials, allow_tag) + "#" + "|".join(remote_parts)
    return _Plan(repository, project, sources, serials, hide_remotes, state, variant, fresh_until, upstream)


def _remote_state(source, project: str, upstream: dict, *, cold: bool = False) -> tuple[str, datetime]:
    """(the fetch time of the upstream page in use, until when it stays unquestioned).
    ``cold``: no page is stored, so the upstream page will be read whole anyway; it is read
    now, without first asking whether the cached copy is fresh."""
    validity = None if cold else remote_index_fetched(source, project)
    if validity is None:
        try:
            fetched = _asked_once(upstream, source, remote_project_index, project)
        except UpstreamUnavailable:
            log.warning("no index of %s from '%s': upstream unavailable", project, source.key)
            return "unavailable", timezone.now()
        if fetched is not None and fetched.stale:  # the upstream failed; its last page answered
            until = timezone.now() + timedelta(seconds=ASSUMED_OFFLINE_SECS)
            return str(fetched.fetched.timestamp()), until
        if fetched is not None:  # just fetched: fresh for the metadata TTL
            return (str(fetched.fetched.timestamp()),
                    fetched.fetched + timedelta(seconds=source.metadata_retrieval_cache_secs))
        validity = remote_index_fetched(source, project)  # a remembered 404, or offline
    if validity is None:
        return "-", timezone.now()
    fetched_at, fresh_until = validity
    return str(fetched_at.timestamp()), fresh_until


def _asked_once(upstream: dict, source, fetch, *args):
    """``fetch(source, *args)`` (an upstream page of ``source``), asked at most once per request:
    its answer, or its failure, is kept in ``upstream`` for the page build, so that an upstream
    that hangs costs the socket timeout once, not once while computing the state and again
    while building. Raises UpstreamUnavailable as ``fetch`` does."""
    if source.pk not in upstream:
        try:
            upstream[source.pk] = fetch(source, *args)
        except UpstreamUnavailable as exc:
            upstream[source.pk] = exc
    if isinstance(upstream[source.pk], UpstreamUnavailable):
        raise upstream[source.pk]
    return upstream[source.pk]


def _build_index(plan: _Plan) -> ProjectIndex | None:
    files: dict[str, dict] = {}
    failures = 0
    for source in plan.sources:
        if source.is_local:
            index = local_project_index(source, plan.project) if source.pk in plan.serials else None
        elif plan.hide_remotes:
            continue
        else:
            try:
                upstream = _asked_once(plan.upstream, source, remote_project_index, plan.project)
            except UpstreamUnavailable:
                failures += 1
                continue
            index = upstream.index if upstream else None
        for entry in (index.files if index else []):
            path = artifact_path(plan.project, entry["filename"])
            if not (repository_accepts(plan.repository, path) and repository_accepts(source, path)):
                continue
            if plan.restricted.get(source.pk) and not authorize(plan.user, "read", source, path):
                continue
            files.setdefault(entry["filename"], entry)
    if not files:
        if failures:
            raise UpstreamUnavailable(f"No upstream of '{plan.repository.key}' could be reached")
        return None
    versions = sorted_versions(f["version"] for f in files.values() if f.get("version"))
    return ProjectIndex(name=plan.project, files=list(files.values()), versions=versions)


def project_list_page(user, repository: Repository) -> PypiPage | None:
    """The stored project list (simple/) as ``user`` may see it, built if out of date; None
    when the caller may read nothing here."""
    sources = sources_for(user, repository, "", folder=True)
    if not sources:
        return None
    restricted = {s.pk: read_restriction(user, s) for s in sources}
    parts = [PAGE_FORMAT, f"R{repository.pk}@{repository.modified.timestamp()}"]
    serials, upstream = {}, {}  # upstream: repository id -> what _asked_once got
    for source in sources:
        tag = f"{source.pk}@{source.modified.timestamp()}:"
        if source.is_local:
            serials[source.pk] = repository_serial(source)
            tag += str(serials[source.pk])
        else:
            tag += _remote_list_state(source, upstream)
        parts.append(tag)
    state, variant = "|".join(parts), _variant(repository, sources, restricted)
    page = (PypiPage.objects.filter(repository=repository, project="", variant=variant)
            .defer("html", "json").first())
    if page is not None and page.state == state:
        return page
    names: set[str] = set()
    failures = 0
    for source in sources:
        try:
            found = (local_project_names(source) if source.is_local
                     else _asked_once(upstream, source, remote_project_names))
        except UpstreamUnavailable:
            failures += 1
            continue
        names.update(n for n in found if repository_accepts(source, n + "/") and (
            not restricted[source.pk] or authorize(user, "read", source, n + "/")))
    if not names and failures:  # as a project page: an empty list would claim there is nothing
        raise UpstreamUnavailable(f"No upstream of '{repository.key}' could be reached")
    serial = serials.get(repository.pk) or ((page.serial if page else 0) + 1)
    return _store(repository, "", variant, state, serial, render_project_list(sorted(names), serial),
                  replaces=page)


def _remote_list_state(source, upstream: dict) -> str:
    validity = remote_index_fetched(source, "")
    if validity is None:
        try:
            _asked_once(upstream, source, remote_project_names)
        except UpstreamUnavailable:
            return "unavailable"
        validity = remote_index_fetched(source, "")
    return str(validity[0].timestamp()) if validity else "-"


def _store(repository, project, variant, state, serial, rendered, *, replaces,
           fresh_until=None) -> PypiPage:
    values = {"state": state, "serial": serial, "html": rendered.html, "json": rendered.json,
              "etag": rendered.etag, "fresh_until": fresh_until}
    page = write_row(PypiPage, {"repository": repository, "project": project, "variant": variant},
                     {**values, "built": timezone.now()}, replaces)
    if replaces is not None and replaces.etag != page.etag:
        pages_forget(replaces.etag)
    return page


# --- files ----------------------------------------------------------------------------------

@dataclass
class ResolvedFile:
    source: Repository
    result: object  # an Artifact, a live download (Download / Follower), or None: upstream facts only
    pypi_file: PypiFile | None = None
    upstream: UpstreamFile | None = None


def file_resolve(user, repository: Repository, project: str, filename: str, *,
                 fetch: bool = True, need_upstream: bool = False) -> ResolvedFile | None:
    """Where ``filename`` of ``project`` comes from for ``user``: the first readable source
    holding it (as Artifactory resolves: local members, then remote members' caches, then their
    upstreams, each in member order), fetching from an upstream when ``fetch`` allows; with
    ``need_upstream`` and no fetch, an uncached remote file resolves to its upstream facts
    (``result`` None). None when nobody has it. An upstream that cannot be reached is passed
    over for the next member's; raises UpstreamUnavailable when one could not be reached and
    no source had the file."""
    path = artifact_path(project, filename)
    sources = sources_for(user, repository, path)
    hide_remotes = False
    if repository.is_virtual and any(s.is_remote for s in sources):
        held = projects_held(_locals(repository, sources), project)
        hide_remotes = bool(held) and project not in allowlist(repository)[0]
    remotes = [] if hide_remotes else [s for s in sources if s.is_remote]
    for source in sources:
        if source.is_local:
            pypi_file = pypi_file_find(source, project, filename)
            if pypi_file is not None:
                return ResolvedFile(source, pypi_file.artifact, pypi_file=pypi_file)
    artifact, source = artifact_find_first(remotes, path) if remotes else (None, None)
    if artifact is not None:
        return ResolvedFile(source, artifact)
    return first_found(remotes, lambda source: _from_upstream(source, project, filename, fetch, need_upstream))


def _from_upstream(source, project, filename, fetch, need_upstream) -> ResolvedFile | None:
    """A remote member's uncached file: when ``fetch``, a live download; else, when
    ``need_upstream``, what the upstream says of it (result None)."""
    upstream = remote_project_file(source, project, filename)
    if upstream is None:
        return None
    found = ResolvedFile(source, None, upstream=upstream)
    if not fetch:
        return found if need_upstream else None
    return file_fetch(found, project, filename)


def file_fetch(resolved: ResolvedFile, project: str, filename: str) -> ResolvedFile | None:
    """Fetch a file that ``file_resolve`` found only upstream (``result`` None) without
    resolving it again: its live download, or its artifact when another request cached it
    meanwhile; None when the upstream no longer has it."""
    source, upstream = resolved.source, resolved.upstream
    result = remote_file(source, artifact_path(project, filename), upstream.url, sha256=upstream.sha256,
                         auth=credentials_for(source, upstream.url), not_cached=True)
    return ResolvedFile(source, result, upstream=upstream) if result is not None else None
