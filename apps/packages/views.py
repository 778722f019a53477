"""The raw artifact API (GET/HEAD/PUT/DELETE /<repo>/<path>) and the storage API
(/api/storage/<repo>/<path>): the interface Jenkins, curl and scripts use."""

import html

from django.http import HttpResponse
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest, Forbidden, NotFound
from apps.core.formats import iso8601
from apps.core.http import request_stream, whole_number
from apps.core.paths import InvalidPath, clean_path
from apps.repositories.models import Repository
from apps.repositories.resolve import file_resolve, readable_sources
from apps.repositories.selectors import repository_accepts, repository_get
from apps.security.authorization import authorize, deny, may_read_somewhere, require, require_each

from . import responses, selectors, services
from .matrix import parse_properties, split_matrix
from .models import Artifact
from .storage import spool_stream

ITEM_CREATED = "application/vnd.org.jfrog.artifactory.storage.ItemCreated+json"
_STORAGE_TYPES = {name: f"application/vnd.org.jfrog.artifactory.storage.{name}+json"
                  for name in ("FileInfo", "FolderInfo", "FileList", "ItemProperties")}


def parse_location(repo_key: str, raw_path: str, *, allow_empty: bool = True):
    """(repository, path) from the URL. Raises NotFound, BadRequest."""
    repository = repository_get(repo_key)
    try:
        return repository, clean_path(raw_path, allow_empty=allow_empty)
    except InvalidPath as exc:
        raise BadRequest(f"Invalid path: {exc}") from None


def deploy_target(user, repository: Repository, path: str) -> Repository:
    """The local repository a deploy to ``repository`` lands in, authorized for ``user``.

    Raises BadRequest (remote, or virtual without a default deployment repository),
    Forbidden (patterns), and 401/403 from authorize().
    """
    target = repository
    if repository.is_virtual:
        target = repository.default_deployment_repo
        if target is None:
            raise BadRequest(f"Virtual repository '{repository.key}' has no default deployment repository")
    if target.is_remote or target.is_virtual:
        raise BadRequest(f"Cannot deploy to remote or virtual repository '{target.key}'")
    if not (repository_accepts(repository, path) and repository_accepts(target, path)):
        raise Forbidden(f"'{path}' is rejected by the include/exclude patterns of '{target.key}'")
    require(user, "deploy", target, path)
    return target


def unreadable(user, repository: Repository, path: str):
    """Raise the right error for a read that found nothing: to a caller who may read nothing
    in the repository 401 (anonymous) or 403, else 404. Neither tells what exists."""
    if not may_read_somewhere(user, repository):
        deny(user, "read", repository.key)
    raise NotFound(f"'{repository.key}/{path}' not found")


class ArtifactView(APIView):
    parser_classes = []

    def get(self, request, repo_key: str, path: str = ""):
        repository, path = parse_location(repo_key, path)
        result, source = file_resolve(request.user, repository, path)
        if result is None:
            return self._folder_listing(request, repository, path)
        if not isinstance(result, Artifact):
            return responses.live_response(result, path.rsplit("/", 1)[-1],
                                           "application/octet-stream")
        if request.method == "GET":
            services.artifact_record_download(result)
        return responses.artifact_response(request, result)

    def put(self, request, repo_key: str, path: str = ""):
        try:
            bare, properties = split_matrix(path)
        except ValueError as exc:
            raise BadRequest(f"Invalid matrix parameters: {exc}") from None
        repository, path = parse_location(repo_key, bare, allow_empty=False)
        target = deploy_target(request.user, repository, path)
        blob = self._received_blob(request)
        artifact, _ = services.artifact_deploy(
            repository=target, path=path, blob=blob, username=request.user.get_username(),
            allow_overwrite=authorize(request.user, "delete", target, path), properties=properties)
        return Response(responses.item_created(request, artifact, target.key), status=201,
                        content_type=ITEM_CREATED)

    def delete(self, request, repo_key: str, path: str = ""):
        repository, path = parse_location(repo_key, path)
        target = repository.default_deployment_repo if repository.is_virtual else repository
        if target is None or target.is_virtual:
            raise BadRequest(f"Cannot delete from virtual repository '{repository.key}'")
        require(request.user, "delete", target, path)
        require_each(request.user, "delete", target,
                     selectors.artifacts_under(target, path).values_list("path", flat=True))
        services.artifact_delete(repository=target, path=path)
        return Response(status=204)

    def _received_blob(self, request):
        headers = request.headers
        expected = _declared_checksums(headers)
        if headers.get("X-Checksum-Deploy", "").lower() == "true":
            if not expected:
                raise BadRequest("Checksum deploy needs X-Checksum-Sha256, -Sha1 or -Md5")
            blob = services.blob_by_checksum(**expected)
            if blob is None:
                raise NotFound("Checksum deploy failed: no stored content has that checksum")
            return blob
        stream, length = request_stream(request)
        with spool_stream(stream, length) as spool:
            return services.blob_ingest(spool, expected=expected)

    def _folder_listing(self, request, repository, path):
        children = visible_children(request.user, repository, path)
        if children is None:
            unreadable(request.user, repository, path)
        return HttpResponse(_index_html(repository.key, path, children),
                            content_type="text/html; charset=utf-8")


def visible_children(user, repository, path) -> dict[str, bool] | None:
    """{name: is_folder} of what the caller may see in a folder, merged over a virtual
    repository's members; None when the folder does not exist for this caller."""
    children: dict[str, bool] = {}
    sources = readable_sources(user, repository, path, folder=True)
    for source in sources:
        readable = lambda file_path, source=source: authorize(user, "read", source, file_path)  # noqa: E731
        for name, is_folder in selectors.folder_children(source, path, readable):
            children[name] = children.get(name, False) or is_folder
    if not children and (path or not sources):
        return None
    return children


def _declared_checksums(headers) -> dict[str, str]:
    declared = {name: headers.get(f"X-Checksum-{name.capitalize()}", "")
                for name in ("sha256", "sha1", "md5")}
    generic = headers.get("X-Checksum", "").strip()
    by_length = {64: "sha256", 40: "sha1", 32: "md5"}
    if generic and len(generic) in by_length:
        declared[by_length[len(generic)]] = declared[by_length[len(generic)]] or generic
    return {name: value for name, value in declared.items() if value}


def _index_html(repo_key: str, path: str, children: dict[str, bool]) -> str:
    title = html.escape(f"{repo_key}/{path}".rstrip("/"))
    rows = "".join(
        f'<a href="{html.escape(name)}{"/" if folder else ""}">{html.escape(name)}{"/" if folder else ""}</a>\n'
        for name, folder in sorted(children.items()))
    return (f"<!DOCTYPE html><html><head><title>Index of {title}</title></head><body>"
            f"<h1>Index of {title}</h1><pre>{rows}</pre></body></html>")


class StorageView(APIView):
    """/api/storage/<repo>/<path>: file and folder info, lists, properties, stats."""

    parser_classes = []

    def get(self, request, repo_key: str, path: str = ""):
        repository, path = parse_location(repo_key, path)
        params = request.query_params
        if "properties" in params:
            return self._properties(request, repository, path, params["properties"])
        artifact, _ = file_resolve(request.user, repository, path, fetch=False)
        if artifact is not None:
            kind = None if {"stats", "lastModified"} & set(params) else "FileInfo"
            return _storage_response(self._file_view(request, repository, artifact, params), kind)
        if "list" in params:
            return _storage_response(self._list(request, repository, path, params), "FileList")
        return _storage_response(self._folder_info(request, repository, path), "FolderInfo")

    def put(self, request, repo_key: str, path: str = ""):
        repository, path = parse_location(repo_key, path)
        if "properties" not in request.query_params:
            raise BadRequest("Only ?properties= can be set here")
        try:
            properties = parse_properties(request.query_params["properties"])
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        items = self._annotatable(request, repository, path)
        services.properties_set(items, properties)
        return Response(status=204)

    def delete(self, request, repo_key: str, path: str = ""):
        repository, path = parse_location(repo_key, path)
        keys = [k for k in request.query_params.get("properties", "").split(",") if k]
        if not keys:
            raise BadRequest("Name the properties to delete: ?properties=k1,k2")
        services.properties_delete(self._annotatable(request, repository, path), keys)
        return Response(status=204)

    def _annotatable(self, request, repository, path) -> list[Artifact]:
        if repository.is_virtual:
            raise BadRequest("Properties are set on local or remote repositories, not virtual ones")
        require(request.user, "annotate", repository, path)
        items = list(selectors.artifacts_under(repository, path))
        recursive = request.query_params.get("recursive", "1") != "0"
        if not recursive:
            items = [item for item in items if item.path == path]
        if not items:
            raise NotFound(f"'{repository.key}/{path}' not found")
        require_each(request.user, "annotate", repository, [item.path for item in items])
        return items

    def _properties(self, request, repository, path, wanted: str):
        artifact, _ = file_resolve(request.user, repository, path, fetch=False)
        if artifact is None:
            unreadable(request.user, repository, path)
        keys = {k for k in wanted.split(",") if k}
        found: dict[str, list[str]] = {}
        for prop in artifact.properties.order_by("key", "id"):
            if not keys or prop.key in keys:
                found.setdefault(prop.key, []).append(prop.value)
        if not found:
            raise NotFound("No properties could be found")
        return _storage_response({"uri": responses.storage_uri(request, repository.key, path),
                                  "properties": found}, "ItemProperties")

    def _file_view(self, request, repository, artifact, params) -> dict:
        uri = responses.storage_uri(request, repository.key, artifact.path)
        if "stats" in params:
            return {"uri": uri, "downloadCount": artifact.download_count,
                    "lastDownloaded": int(artifact.last_downloaded.timestamp() * 1000)
                    if artifact.last_downloaded else 0}
        if "lastModified" in params:
            return {"uri": uri, "lastModified": iso8601(artifact.modified)}
        return responses.file_info(request, artifact, repository.key)

    def _folder_info(self, request, repository, path) -> dict:
        children = visible_children(request.user, repository, path)
        if children is None:
            unreadable(request.user, repository, path)
        sources = readable_sources(request.user, repository, path, folder=True)
        folders = [f for f in (selectors.folder_find(s, path) for s in sources) if f is not None]
        created = min((f.created for f in folders if f.created), default=None)
        modified = max((f.modified for f in folders if f.modified), default=None)
        return {
            "repo": repository.key, "path": "/" + path,
            "created": iso8601(created or repository.created),
            "lastModified": iso8601(modified or repository.modified),
            "lastUpdated": iso8601(modified or repository.modified),
            "children": [{"uri": "/" + name, "folder": folder}
                         for name, folder in sorted(children.items())],
            "uri": responses.storage_uri(request, repository.key, path),
        }

    def _list(self, request, repository, path, params) -> dict:
        deep = params.get("deep", "0") == "1"
        depth = whole_number(params.get("depth"))
        list_folders = params.get("listFolders", "0") == "1"
        files: dict[str, dict] = {}
        for source in readable_sources(request.user, repository, path, folder=True):
            for item in selectors.artifacts_under(source, path):
                rel = item.path[len(path) + 1:] if path else item.path
                levels = rel.count("/") + 1
                if (not deep and levels > 1) or (depth is not None and levels > depth):
                    if list_folders and not deep:
                        files.setdefault("/" + rel.split("/")[0], {"folder": True})
                    continue
                if authorize(request.user, "read", source, item.path):
                    files.setdefault("/" + rel, {"item": item})
        if not files and visible_children(request.user, repository, path) is None:
            unreadable(request.user, repository, path)
        return {
            "uri": responses.storage_uri(request, repository.key, path),
            "created": iso8601(repository.created),
            "files": [_list_entry(uri, entry) for uri, entry in sorted(files.items())],
        }


def _storage_response(data: dict, kind: str | None) -> Response:
    """JSON under Artifactory's media type for this kind of storage document."""
    return Response(data, content_type=_STORAGE_TYPES[kind] if kind else None)


def _list_entry(uri: str, entry: dict) -> dict:
    if entry.get("folder"):
        return {"uri": uri, "size": -1, "lastModified": None, "folder": True}
    item = entry["item"]
    checksums = {"sha1": item.blob.sha1, "sha2": item.blob.sha256}
    return {"uri": uri, "size": item.blob.size, "lastModified": iso8601(item.modified),
            "folder": False, **{name: value for name, value in checksums.items() if value}}


class StorageInfoView(APIView):
    """/api/storageinfo: stored bytes once (binaries) and as many times as paths use them."""

    def get(self, request):
        from apps.core.formats import human_size
        from apps.security.views import require_admin

        from .storage import blob_store

        require_admin(request)
        summary = selectors.storage_summary()
        binaries, logical = summary["binaries_size"], summary["artifacts_size"]
        saved = 100 * (1 - binaries / logical) if logical else 0.0
        repositories = []
        for repository in Repository.objects.all():
            row = summary["repositories"].get(repository.pk, {"files": 0, "size": 0})
            repositories.append({
                "repoKey": repository.key, "repoType": repository.rclass.upper(),
                "packageType": repository.package_type, "filesCount": row["files"],
                "itemsCount": row["files"], "usedSpace": human_size(row["size"] or 0),
                "usedSpaceInBytes": row["size"] or 0,
                "percentage": f"{100 * (row['size'] or 0) / logical:.2f}%" if logical else "0%",
            })
        usage = blob_store().usage()
        return Response({
            "binariesSummary": {
                "binariesCount": str(summary["binaries_count"]), "binariesSize": human_size(binaries),
                "artifactsSize": human_size(logical), "optimization": f"{saved:.2f}%",
                "itemsCount": str(summary["artifacts_count"]),
                "artifactsCount": str(summary["artifacts_count"]),
                "binariesSizeInBytes": binaries, "artifactsSizeInBytes": logical,
            },
            "fileStoreSummary": {k: human_size(v) if isinstance(v, int) else v for k, v in usage.items()},
            "repositoriesSummaryList": repositories,
        })
