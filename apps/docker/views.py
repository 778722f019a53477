"""The registry API (/v2/...): thin views over the registry's selectors and services. Every
view gets its headers, authentication and the spec's error envelope from RegistryView."""

import re
from urllib.parse import urlencode

from django.http import HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response
from rest_framework.views import APIView

from apps.core.errors import ApiError, BadRequest, NotFound
from apps.core.http import request_stream, whole_number
from apps.repositories.models import Repository
from apps.security.authentication import BasicAuthentication, BearerAuthentication
from apps.security.authorization import authorize, require

from . import pull, selectors, services
from .errors import (BlobUnknown, Denied, DigestInvalid, ManifestTooLarge,
                     ManifestUnknown, NameUnknown, PaginationNumberInvalid, RangeInvalid,
                     RegistryError, SizeInvalid, Unauthorized, Unsupported, error_response)
from .manifests import MAX_MANIFEST_BYTES, OCI_INDEX
from .references import check_name, check_tag, image_folder, is_digest, parse_digest
from .tokens import (ACTIONS, SERVICE, RegistryTokenAuthentication, parse_scope, token_allows,
                     token_allows_catalog, token_issue)

MAX_PAGE = 1000
MAX_SCOPES = 16
_CONTENT_RANGE = re.compile(r"^(?:bytes )?(\d+)-(\d+)(?:/(?:\d+|\*))?$")


class RegistryView(APIView):
    """Authentication (registry JWT, Basic, access token), the API version header, the 401
    challenge naming the scope a request needs, and errors in the spec's envelope."""

    authentication_classes = [RegistryTokenAuthentication, BasicAuthentication, BearerAuthentication]
    parser_classes = []
    scope = ""

    def perform_content_negotiation(self, request, force=False):
        # Accept names manifest media types, not renderers: our responses are built by hand.
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type

    def handle_exception(self, exc):
        return error_response(exc, challenge=self.challenge) or super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Docker-Distribution-API-Version"] = "registry/2.0"
        return response

    def challenge(self) -> str:
        realm = self.request.build_absolute_uri("/v2/token")
        value = f'Bearer realm="{realm}",service="{SERVICE}"'
        return value + (f',scope="{self.scope}"' if self.scope else "")

    def image(self, repo_key: str, name: str) -> tuple[Repository, str]:
        """The docker repository and the checked image name. Raises NameUnknown, NameInvalid."""
        repository = selectors.docker_repository(repo_key)
        if repository is None:
            raise NameUnknown(f"repository '{repo_key}' not found", detail={"name": repo_key})
        return repository, check_name(name)

    def require(self, action: str, repository: Repository, name: str) -> None:
        """pull/push/delete on the image, by both the caller's token (if any) and authorize()."""
        full_name = f"{repository.key}/{name}"
        self.scope = f"repository:{full_name}:{'pull,push' if action == 'push' else action}"
        user, claims = self.request.user, self.request.auth
        if isinstance(claims, dict) and not token_allows(claims, full_name, action):
            raise Unauthorized(f"the token does not grant {action} on {full_name}")
        if not authorize(user, ACTIONS[action], repository, image_folder(name)):
            if not user.is_authenticated:
                raise Unauthorized()
            raise Denied(f"'{user.get_username()}' may not {action} {full_name}")

    def require_catalog(self, repository: Repository | None = None) -> None:
        """Listing images (all, or ``repository``'s) by the caller's permissions. A registry
        token must hold the catalog claim: the user behind it is the full user again, and a
        scoped access token's limits live on only in the claims (it never gets this one).
        Raises Unauthorized."""
        user, claims = self.request.user, self.request.auth
        if isinstance(claims, dict):
            if not token_allows_catalog(claims):
                raise Unauthorized("the token does not grant the catalog")
        elif not user.is_authenticated and not selectors.catalog(user, n=1, last="", repository=repository):
            raise Unauthorized()

    def push_target(self, repository: Repository) -> Repository:
        target = repository.default_deployment_repo if repository.is_virtual else repository
        if target is None or not target.is_local:
            raise Unsupported(f"'{repository.key}' does not accept pushes")
        return target


def _digest_headers(digest: str, **extra) -> dict:
    return {"Docker-Content-Digest": digest, **extra}


def _with(response: HttpResponse, headers: dict) -> HttpResponse:
    for name, value in headers.items():
        response[name] = value
    return response


def _page_size(params) -> int | None:
    raw = params.get("n")
    if raw is None or raw == "":
        return None
    size = whole_number(raw)
    if size is None:
        raise PaginationNumberInvalid(detail={"n": raw[:20]})
    return min(size, MAX_PAGE)


def _paged(request, items: list[str], n: int | None) -> tuple[list[str], dict]:
    """At most ``n`` of ``items`` (fetched n+1 deep) and a Link header when more follow."""
    if n is None or len(items) <= n:
        return items, {}
    items = items[:n]
    query = urlencode({"n": n, "last": items[-1]}) if items else ""
    return items, {"Link": f'<{request.path}?{query}>; rel="next"'}


class PingView(RegistryView):
    def get(self, request):
        if not request.user.is_authenticated and not isinstance(request.auth, dict):
            raise Unauthorized()
        return JsonResponse({})


class TokenView(RegistryView):
    """The token endpoint: Basic credentials (password or access token) or none."""

    authentication_classes = [BasicAuthentication, BearerAuthentication]

    def challenge(self) -> str:
        return 'Basic realm="repomgr"'

    def get(self, request):
        scopes = [parse_scope(part) for value in request.query_params.getlist("scope")
                  for part in value.split(" ") if part]
        # Each scope costs a lookup; clients ask for one or two (a mount: three).
        scopes = [s for s in scopes if s][:MAX_SCOPES]
        return JsonResponse(token_issue(user=request.user, scopes=scopes, service=SERVICE))
    # No POST (OAuth2 password grant): clients that try it first fall back to GET on a 405.


class CatalogView(RegistryView):
    scope = "registry:catalog:*"

    def get(self, request):
        self.require_catalog()
        n = _page_size(request.query_params)
        if n == 0:
            return JsonResponse({"repositories": []})
        names = selectors.catalog(request.user, n=None if n is None else n + 1,
                                  last=request.query_params.get("last", ""))
        names, headers = _paged(request, names, n)
        return _with(JsonResponse({"repositories": names}), headers)


class RepositoryCatalogView(RegistryView):
    """Artifactory's /api/docker/<repo>/v2/_catalog: the image names of one repository."""

    scope = "registry:catalog:*"

    def get(self, request, repo_key: str):
        repository = selectors.docker_repository(repo_key)
        if repository is None:
            raise NameUnknown(f"repository '{repo_key}' not found")
        self.require_catalog(repository)
        n = _page_size(request.query_params)
        names = [] if n == 0 else selectors.catalog(
            request.user, n=None if n is None else n + 1, last=request.query_params.get("last", ""),
            repository=repository)
        names, headers = _paged(request, names, n)
        return _with(JsonResponse({"repositories": names}), headers)


class ManifestView(RegistryView):
    def get(self, request, repo_key: str, name: str, reference: str):
        repository, name = self.image(repo_key, name)
        self.require("pull", repository, name)
        _check_reference(reference)
        manifest = pull.manifest_resolve(request.user, repository, name, reference)
        if manifest is None:
            raise ManifestUnknown(detail={"name": name, "reference": reference})
        etag = f'"{manifest.digest}"'
        # Only now that the caller may read it: a 304 tells that the manifest exists.
        response = get_conditional_response(request, etag=etag)
        if response is None:
            body = b"" if request.method == "HEAD" else pull.manifest_bytes(manifest)
            response = HttpResponse(body, content_type=manifest.media_type)
            response["Content-Length"] = str(manifest.size)
        return _with(response, _digest_headers(manifest.digest, ETag=etag))

    def put(self, request, repo_key: str, name: str, reference: str):
        repository, name = self.image(repo_key, name)
        self.require("push", repository, name)
        target = self.push_target(repository)
        _check_reference(reference)
        manifest = services.manifest_push(
            repository=target, name=name, reference=reference, body=_manifest_body(request),
            content_type=request.META.get("CONTENT_TYPE", ""),
            tags=request.query_params.getlist("tag"), username=request.user.get_username(),
            holders=selectors.image_sources(request.user, repository, name) if repository.is_virtual else (),
            # Moving an existing tag overwrites it: Artifactory's Delete/Overwrite permission.
            may_move_tags=authorize(request.user, "delete", target, image_folder(name)))
        headers = _digest_headers(manifest.digest, Location=_url(repo_key, name, "manifests", manifest.digest))
        if manifest.subject_digest:
            headers["OCI-Subject"] = manifest.subject_digest
        return _with(HttpResponse(status=201), headers)

    def delete(self, request, repo_key: str, name: str, reference: str):
        repository, name = self.image(repo_key, name)
        self.require("delete", repository, name)
        _check_reference(reference)
        services.manifest_delete(repository=self.push_target(repository), name=name, reference=reference)
        return HttpResponse(status=202)


def _check_reference(reference: str) -> None:
    if is_digest(reference):
        parse_digest(reference)
    else:
        check_tag(reference)


def _manifest_body(request) -> bytes:
    """The pushed manifest, whole. Raises ManifestTooLarge, SizeInvalid (the client broke off)."""
    stream, length = request_stream(request)
    if length is not None and length > MAX_MANIFEST_BYTES:
        raise ManifestTooLarge(f"manifests are limited to {MAX_MANIFEST_BYTES} bytes")
    try:
        body = stream.read(MAX_MANIFEST_BYTES + 1)
    except (OSError, ValueError) as exc:  # as spool_stream: a chunked body cut short
        raise SizeInvalid(f"the manifest was interrupted: {exc.__class__.__name__}") from None
    if len(body) > MAX_MANIFEST_BYTES:
        raise ManifestTooLarge(f"manifests are limited to {MAX_MANIFEST_BYTES} bytes")
    if length is not None and len(body) < length:
        raise SizeInvalid(f"the manifest ended after {len(body)} of {length} bytes")
    return body


def _url(repo_key: str, name: str, kind: str, reference: str) -> str:
    return f"/v2/{repo_key}/{name}/{kind}/{reference}"


class BlobView(RegistryView):
    def get(self, request, repo_key: str, name: str, digest: str):
        repository, name = self.image(repo_key, name)
        self.require("pull", repository, name)
        digest = parse_digest(digest)
        if request.method == "HEAD" and repository.is_virtual and repository.default_deployment_repo_id:
            # How pushers (buildah, podman, skopeo) ask whether to upload a layer; they give up
            # on anything but 200 or 404. Answered from what the members hold, never from an
            # upstream: a manifest pushed here takes the layers its members hold.
            result = selectors.blob_held(selectors.image_sources(request.user, repository, name),
                                         name, digest)
        else:
            result = pull.blob_resolve(request.user, repository, name, digest)
        if result is None:
            raise BlobUnknown(detail={"digest": str(digest)})
        return pull.blob_response(request, result, digest)

    def delete(self, request, repo_key: str, name: str, digest: str):
        repository, name = self.image(repo_key, name)
        self.require("delete", repository, name)
        services.blob_delete(repository=self.push_target(repository), name=name,
                             digest=parse_digest(digest))
        return HttpResponse(status=202)


class UploadStartView(RegistryView):
    def post(self, request, repo_key: str, name: str):
        repository, name = self.image(repo_key, name)
        self.require("push", repository, name)
        target = self.push_target(repository)
        params, username = request.query_params, request.user.get_username()
        if params.get("mount"):
            digest = parse_digest(params["mount"])
            source = self._mountable(params.get("from", ""), digest)
            if source is not None:
                services.blob_mount(repository=target, name=name, source=source, digest=digest,
                                    username=username)
                return _blob_created(repo_key, name, str(digest))
        if params.get("digest"):
            digest = parse_digest(params["digest"])
            stream, length = request_stream(request)
            services.blob_push(repository=target, name=name, digest=digest, stream=stream,
                               length=length, username=username)
            return _blob_created(repo_key, name, str(digest))
        session = services.upload_start(repository=target, name=name)
        return _upload_accepted(repo_key, name, session, 0)

    def _mountable(self, source_name: str, digest):
        """The blob in the image ``source_name`` ('<repo>/<image>') if the caller may read it."""
        key, _, name = source_name.partition("/")
        repository = selectors.docker_repository(key)
        claims = self.request.auth
        if repository is None or not name or (
                isinstance(claims, dict) and not token_allows(claims, source_name, "pull")):
            return None
        for source in selectors.image_sources(self.request.user, repository, name):
            artifact = selectors.blob_find(source, name, digest)
            if artifact is not None:
                return artifact
        return None


def _blob_created(repo_key: str, name: str, digest: str) -> HttpResponse:
    return _with(HttpResponse(status=201), _digest_headers(
        digest, Location=_url(repo_key, name, "blobs", digest), **{"Content-Length": "0"}))


def _upload_accepted(repo_key, name, session, size: int, status: int = 202) -> HttpResponse:
    return _with(HttpResponse(status=status), {
        "Location": _url(repo_key, name, "blobs/uploads", str(session.id)),
        "Range": services.upload_range(size), "Docker-Upload-UUID": str(session.id),
        "Content-Length": "0"})


class UploadView(RegistryView):
    def session(self, repo_key: str, name: str, session_id: str):
        repository, name = self.image(repo_key, name)
        self.require("push", repository, name)
        target = self.push_target(repository)
        return name, services.upload_get(session_id=session_id, repository=target, name=name)

    def get(self, request, repo_key: str, name: str, session_id: str):
        name, session = self.session(repo_key, name, session_id)
        return _upload_accepted(repo_key, name, session, session.size, status=204)

    def patch(self, request, repo_key: str, name: str, session_id: str):
        name, session = self.session(repo_key, name, session_id)
        start, end = _content_range(request)
        stream, length = request_stream(request)
        try:
            size = services.upload_append(session=session, stream=stream, length=length,
                                          start=start, end=end)
        except RangeInvalid as exc:
            exc.headers["Location"] = _url(repo_key, name, "blobs/uploads", session_id)
            raise
        return _upload_accepted(repo_key, name, session, size)

    def put(self, request, repo_key: str, name: str, session_id: str):
        name, session = self.session(repo_key, name, session_id)
        if not request.query_params.get("digest"):
            raise DigestInvalid("the closing PUT needs ?digest=")
        digest = parse_digest(request.query_params["digest"])
        start, end = _content_range(request)
        stream, length = request_stream(request)
        services.upload_finish(session=session, digest=digest, stream=stream, length=length,
                               start=start, end=end, username=request.user.get_username())
        return _blob_created(repo_key, name, str(digest))

    def delete(self, request, repo_key: str, name: str, session_id: str):
        _, session = self.session(repo_key, name, session_id)
        services.upload_cancel(session=session)
        return HttpResponse(status=204)


def _content_range(request) -> tuple[int | None, int | None]:
    """(start, end) of a chunk's Content-Range ('<start>-<end>', inclusive), or (None, None).
    Raises RangeInvalid."""
    header = request.headers.get("Content-Range", "").strip()
    if not header:
        return None, None
    match = _CONTENT_RANGE.match(header)
    if not match or int(match[2]) < int(match[1]):
        raise RangeInvalid("malformed Content-Range")
    return int(match[1]), int(match[2])


class TagsView(RegistryView):
    def get(self, request, repo_key: str, name: str):
        repository, name = self.image(repo_key, name)
        self.require("pull", repository, name)
        n = _page_size(request.query_params)
        tags = pull.tags_resolve(request.user, repository, name)
        if tags is None:
            raise NameUnknown(detail={"name": f"{repo_key}/{name}"})
        last = request.query_params.get("last", "")
        tags = [] if n == 0 else [tag for tag in tags if tag > last]
        tags, headers = _paged(request, tags, n)
        return _with(JsonResponse({"name": f"{repo_key}/{name}", "tags": tags}), headers)


class ReferrersView(RegistryView):
    def get(self, request, repo_key: str, name: str, digest: str):
        repository, name = self.image(repo_key, name)
        self.require("pull", repository, name)
        digest = str(parse_digest(digest))
        artifact_type = request.query_params.get("artifactType", "")
        sources = selectors.image_sources(request.user, repository, name)
        found = selectors.referrers(sources, name, digest, artifact_type=artifact_type)
        # An index without artifactType has none to report: the spec says to omit it then.
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": m.media_type, "digest": m.digest, "size": m.size,
             **({"artifactType": m.artifact_type} if m.artifact_type else {}),
             **({"annotations": m.annotations} if m.annotations else {})}
            for m in found]}
        response = JsonResponse(index, content_type=OCI_INDEX)
        if artifact_type:
            response["OCI-Filters-Applied"] = "artifactType"
        return response


class UnknownView(RegistryView):
    def dispatch(self, request, *args, **kwargs):
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        response = error_response(NameUnknown("no such registry endpoint"))
        return self.finalize_response(self.request, response, *args, **kwargs)


class PromoteView(APIView):
    """Artifactory's POST /api/docker/<repo>/v2/promote: copy or move a tag to another
    repository (REST API: Artifactory's error shape)."""

    def post(self, request, repo_key: str):
        body = request.data if isinstance(request.data, dict) else {}
        name, tag = str(body.get("dockerRepository", "")), str(body.get("tag", ""))
        if not name or not tag or not body.get("targetRepo"):
            raise BadRequest("dockerRepository, tag and targetRepo are required")
        try:
            source, target = _rest_repository(repo_key), _rest_repository(str(body["targetRepo"]))
            target_name = check_name(str(body.get("targetDockerRepository") or name))
            folder, copy = image_folder(check_name(name)), bool(body.get("copy", False))
            require(request.user, "read", source, folder)
            require(request.user, "deploy", target, image_folder(target_name))
            if not copy:
                require(request.user, "delete", source, folder)
            services.image_promote(source=source, target=target, name=name, tag=tag,
                                   target_name=target_name, target_tag=str(body.get("targetTag") or tag),
                                   copy=copy, username=request.user.get_username(),
                                   may_move_tags=authorize(request.user, "delete", target,
                                                           image_folder(target_name)))
        except RegistryError as exc:
            raise ApiError(f"{exc.code}: {exc.message}", status=exc.status) from None
        return JsonResponse({"message": "Promotion ended successfully"})


def _rest_repository(key: str) -> Repository:
    repository = selectors.docker_repository(key)
    if repository is None:
        raise NotFound(f"Docker repository '{key}' not found")
    if not repository.is_local:
        raise BadRequest(f"'{key}' is not a local repository")
    return repository
