"""The PyPI protocol views: simple API (PEP 503/691), files and PEP 658 metadata, the legacy
upload API, the JSON API, and yank/unyank/delete. Errors leave as text with the message in
the status line too, which is where twine, pip and uv show it."""

import hashlib
import re

from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.utils.cache import get_conditional_response
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import ApiError, BadRequest, NotFound, exception_handler
from apps.core.formats import base_url
from apps.core.http import file_response
from apps.packages.models import Artifact
from apps.packages.responses import artifact_response, live_response
from apps.packages.services import artifact_record_download
from apps.packages.views import deploy_target, unreadable
from apps.repositories.models import Repository
from apps.repositories.selectors import repository_get
from apps.security.authorization import require, require_each
from apps.security.views import require_admin

from . import services
from .coremetadata import core_metadata_resolve
from .distributions import normalize, parse_filename, valid_project_name
from .indexes import allowlist, file_resolve, project_list_page, project_page
from .jsonapi import project_json
from .pagefiles import page_file
from .models import PypiPage
from .negotiation import OFFERED, accepts_gzip, choose_content_type, is_json
from .selectors import release_paths
from .upload import upload_parse

_REASON_SAFE = re.compile(r"[^\x20-\x7e]")


def pypi_exception_handler(exc, context):
    """The core's error handling, rendered as text with the message in the status line."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    message = response.data["errors"][0]["message"]
    out = HttpResponse(message + "\n", status=response.status_code,
                       content_type="text/plain; charset=utf-8",
                       reason=_REASON_SAFE.sub("?", message)[:300] or None)
    for name, value in response.items():
        if name.lower() not in ("content-type", "content-length"):
            out[name] = value
    return out


class _OwnNegotiation(BaseContentNegotiation):
    """The simple API negotiates Accept itself (PEP 691); DRF must not answer 406 first."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PypiView(APIView):
    parser_classes = []
    content_negotiation_class = _OwnNegotiation

    def get_exception_handler(self):
        return pypi_exception_handler


def pypi_repository(repo_key: str) -> Repository:
    """The PyPI repository ``repo_key``. Raises NotFound."""
    repository = repository_get(repo_key)
    if repository.package_type != Repository.PackageType.PYPI:
        raise NotFound(f"'{repo_key}' is not a PyPI repository")
    return repository


def _negotiated(request) -> str:
    content_type = choose_content_type(request.META.get("HTTP_ACCEPT"), request.GET.get("format"))
    if content_type is None:
        raise ApiError("Not Acceptable: this index offers " + ", ".join(OFFERED), status=406)
    return content_type


def _page_response(request, page, content_type: str) -> HttpResponse:
    """A stored page: 304 on a matching ETag, else its bytes from the page file,
    gzip-compressed for clients that accept it (pip and uv do)."""
    kind = "json" if is_json(content_type) else "html"
    gzipped = accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", ""))
    tag = kind[0] + ("z" if gzipped else "")
    etag = f'"{page.etag}-{tag}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        path = page_file(page, kind, gzipped=gzipped)
        if path is None:  # rebuilt since it was read: answer the newer version, uncompressed
            page = PypiPage.objects.get(pk=page.pk)
            etag, gzipped = f'"{page.etag}-{kind[0]}"', False
            response = HttpResponse(bytes(getattr(page, kind)), content_type=content_type)
        else:
            response = file_response(open(path, "rb"), content_type=content_type)
            del response["Content-Disposition"]
        if gzipped:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Vary"] = "Accept, Accept-Encoding"
    response["X-PyPI-Last-Serial"] = str(page.serial)
    response["Cache-Control"] = "max-age=0, must-revalidate"
    return response


def _redirect(request, target: str) -> HttpResponsePermanentRedirect:
    """301 to ``target``, keeping the query string (``?format=``)."""
    query = request.META.get("QUERY_STRING")
    return HttpResponsePermanentRedirect(target + (f"?{query}" if query else ""))


class SimpleIndexView(PypiView):
    """/simple/: every project the caller may see."""

    def get(self, request, repo_key: str):
        repository = pypi_repository(repo_key)
        if not request.path.endswith("/"):  # the page's links are relative to simple/
            return _redirect(request, request.path + "/")
        content_type = _negotiated(request)
        page = project_list_page(request.user, repository)
        if page is None:
            unreadable(request.user, repository, "simple/")
        return _page_response(request, page, content_type)


class SimpleProjectView(PypiView):
    """/simple/<project>/: the project's files (301 to the normalised name)."""

    def get(self, request, repo_key: str, project: str):
        repository = pypi_repository(repo_key)
        name = normalize(project)
        if project != name or not request.path.endswith("/"):
            target = request.path[: request.path.rindex("/simple/") + len("/simple/")] + name + "/"
            return _redirect(request, target)
        content_type = _negotiated(request)
        page = project_page(request.user, repository, name) if valid_project_name(project) else None
        if page is None:
            unreadable(request.user, repository, f"simple/{name}/")
        return _page_response(request, page, content_type)


class FileView(PypiView):
    """/packages/<project>/<filename> (+ .metadata); DELETE removes a local file."""

    def get(self, request, repo_key: str, project: str, filename: str):
        repository = pypi_repository(repo_key)
        name = normalize(project)
        if not _addressable(project, filename):  # never asked of an upstream, never cached
            unreadable(request.user, repository, f"{name}/{filename}")
        if filename.endswith(".metadata"):
            return self._metadata(request, repository, name, filename[: -len(".metadata")])
        resolved = file_resolve(request.user, repository, name, filename)
        if resolved is None:
            unreadable(request.user, repository, f"{name}/{filename}")
        if not isinstance(resolved.result, Artifact):
            # Download and Follower hold the last chunk back until the file is verified.
            return live_response(resolved.result, filename, "application/octet-stream")
        if request.method == "GET":
            artifact_record_download(resolved.result)
        return artifact_response(request, resolved.result, content_type="application/octet-stream")

    def delete(self, request, repo_key: str, project: str, filename: str):
        name = _addressed(project, filename)
        repository = _writable(request, repo_key, "delete", f"{name}/{filename}")
        services.pypi_files_delete(repository=repository, project=name, filename=filename)
        return HttpResponse(status=204)

    def _metadata(self, request, repository, project: str, filename: str):
        metadata = core_metadata_resolve(request.user, repository, project, filename)
        if metadata is None:
            unreadable(request.user, repository, f"{project}/{filename}.metadata")
        etag = f'"{hashlib.sha256(metadata).hexdigest()}"'
        response = get_conditional_response(request, etag=etag) or HttpResponse(
            metadata, content_type="application/octet-stream")
        response["ETag"] = etag
        return response


class UploadView(PypiView):
    """POST /api/pypi/<repo>/: the legacy upload API (twine, uv publish, poetry, hatch, pdm)."""

    def post(self, request, repo_key: str):
        repository = pypi_repository(repo_key)
        deploy_target(request.user, repository, "")  # refuse before reading a large body
        upload = upload_parse(request)
        try:
            if upload.value(":action") != "file_upload":
                raise BadRequest(f"Unsupported :action {upload.value(':action')!r}")
            content = upload.files.get("content")
            if content is None:
                raise BadRequest("The upload has no 'content' file")
            dist = parse_filename(content.name)
            target = deploy_target(request.user, repository,
                                   services.artifact_path(dist.project, content.name))
            form = {key: upload.value(key) for key in upload.fields}
            services.pypi_upload(repository=target, spool=content.spool, filename=content.name, dist=dist,
                                 form=form, username=request.user.get_username())
        finally:
            upload.close()
        return HttpResponse("OK\n", content_type="text/plain")


class JsonApiView(PypiView):
    """/pypi/<project>/json and /pypi/<project>/<version>/json."""

    def get(self, request, repo_key: str, project: str, version: str | None = None):
        repository = pypi_repository(repo_key)
        base = f"{base_url(request)}/api/pypi/{repository.key}"
        document = (project_json(request.user, repository, normalize(project), version, base)
                    if _addressable(project, version or "") else None)
        if document is None:
            unreadable(request.user, repository, normalize(project))
        return JsonResponse(document, json_dumps_params={"separators": (",", ":")})


class ReleaseView(APIView):
    """PATCH {"yanked": bool, "yanked_reason": str} yanks or unyanks a release (deploy);
    DELETE removes it (delete). REST errors, in the REST API's JSON envelope."""

    parser_classes = [JSONParser]

    def patch(self, request, repo_key: str, project: str, version: str):
        name = _addressed(project, version)
        repository = _release_writable(request, repo_key, "deploy", name, version)
        body = request.data if isinstance(request.data, dict) else {}
        reason = str(body.get("yanked_reason") or "")
        if not isinstance(body.get("yanked"), bool) or "\x00" in reason:
            raise BadRequest('Send {"yanked": true|false, "yanked_reason": "..."} (text without NUL)')
        count = services.pypi_release_yank(repository=repository, project=name, version=version,
                                           yanked=body["yanked"], reason=reason)
        return Response({"project": name, "version": version, "yanked": body["yanked"], "files": count})

    def delete(self, request, repo_key: str, project: str, version: str):
        name = _addressed(project, version)
        repository = _release_writable(request, repo_key, "delete", name, version)
        services.pypi_files_delete(repository=repository, project=name, version=version)
        return Response(status=204)


def _addressable(project: str, name: str) -> bool:
    """Whether a project name and a file name or version from a URL can name anything here:
    a valid project name, and no control characters (which no file or version holds)."""
    return valid_project_name(project) and (not name or name.isprintable())


def _addressed(project: str, name: str) -> str:
    """The normalised project of a file or release (``name``) addressed by URL for a change.
    Raises NotFound for what cannot name one."""
    if not _addressable(project, name):
        raise NotFound(f"'{project}' {name!r} not found")
    return normalize(project)


def _writable(request, repo_key: str, action: str, path: str) -> Repository:
    """The local repository a yank/delete addressed to ``repo_key`` acts on, authorized on
    ``path`` (a file, or a project's folder '<project>/', which 'team-*/**' patterns admit)."""
    repository = pypi_repository(repo_key)
    target = repository.default_deployment_repo if repository.is_virtual else repository
    if target is None or not target.is_local:
        raise BadRequest(f"'{repo_key}' is not a local repository and deploys nowhere")
    require(request.user, action, target, path)
    return target


def _release_writable(request, repo_key: str, action: str, project: str, version: str) -> Repository:
    """As _writable, for a release: the caller must be allowed ``action`` on every file of it
    (a permission target may exclude some of a project's files)."""
    repository = _writable(request, repo_key, action, f"{project}/")
    require_each(request.user, action, repository, release_paths(repository, project, version))
    return repository


class AllowlistView(APIView):
    """/api/pypi/<virtual>/allowlist: {"projects": [...]} that remote members may still serve
    although a local member holds them (dependency-confusion guard). PUT: administrators."""

    parser_classes = [JSONParser]

    def get(self, request, repo_key: str):
        require_admin(request)  # first: a refusal never tells whether the repository exists
        repository = pypi_repository(repo_key)
        return Response({"projects": sorted(allowlist(repository)[0])})

    def put(self, request, repo_key: str):
        require_admin(request)
        repository = pypi_repository(repo_key)
        names = request.data.get("projects") if isinstance(request.data, dict) else None
        if not isinstance(names, list):
            raise BadRequest('Send {"projects": ["name", ...]}')
        return Response({"projects": services.virtual_allowlist_set(repository=repository, names=names)})
