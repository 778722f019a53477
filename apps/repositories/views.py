"""/api/repositories: list, read, create (PUT), update (POST) and delete repositories."""

from django.http import HttpResponse
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.core.formats import base_url
from apps.security.authorization import authorize, deny, may_read_somewhere

from . import services
from .models import Repository
from .selectors import repository_get, resolution_orders_load
from .serializers import RepositoryConfigSerializer


def _require_admin(user, what: str) -> None:
    if not (user.is_authenticated and user.is_superuser):
        deny(user, "manage", what)


def _errors(serializer) -> BadRequest:
    messages = [f"{field}: {'; '.join(map(str, problems)) if isinstance(problems, list) else problems}"
                for field, problems in serializer.errors.items()]
    return BadRequest("; ".join(messages))


class RepositoryListView(APIView):
    def get(self, request):
        repositories = Repository.objects.all()
        kind = request.query_params.get("type")
        if kind:
            repositories = repositories.filter(rclass=kind.lower())
        package_type = request.query_params.get("packageType")
        if package_type:
            repositories = repositories.filter(package_type=package_type.lower())
        base = base_url(request)
        repositories = list(repositories)
        resolution_orders_load(repositories)
        return Response([
            {"key": r.key, "type": r.rclass.upper(), "description": r.description,
             "url": r.url if r.is_remote else f"{base}/{r.key}", "packageType": r.package_type}
            for r in repositories if may_read_somewhere(request.user, r)
        ])


class RepositoryDetailView(APIView):
    parser_classes = [JSONParser]

    def get(self, request, key: str):
        repository = repository_get(key)
        if not may_read_somewhere(request.user, repository):
            deny(request.user, "read", key)
        return Response(RepositoryConfigSerializer(repository).data)

    def put(self, request, key: str):
        _require_admin(request.user, key)
        if Repository.objects.filter(key=key).exists():
            raise BadRequest(f"Repository '{key}' already exists")
        data = {**self._body(request), "key": key}
        serializer = RepositoryConfigSerializer(data=data)
        if not serializer.is_valid():
            raise _errors(serializer)
        services.repository_create(**serializer.validated_data)
        return HttpResponse(f"Successfully created repository '{key}'", content_type="text/plain")

    def post(self, request, key: str):
        repository = repository_get(key)
        if not authorize(request.user, "manage", repository):
            deny(request.user, "manage", key)
        data = self._body(request)
        if data.get("key", key) != key:
            raise BadRequest("The key of a repository cannot change")
        serializer = RepositoryConfigSerializer(repository, data={**data, "key": key}, partial=True)
        if not serializer.is_valid():
            raise _errors(serializer)
        services.repository_update(repository, **serializer.validated_data)
        return HttpResponse(f"Repository '{key}' update successful", content_type="text/plain")

    def delete(self, request, key: str):
        repository = repository_get(key)
        _require_admin(request.user, key)
        services.repository_delete(repository)
        return HttpResponse(f"Repository '{key}' and all its content have been removed successfully.",
                            content_type="text/plain")

    @staticmethod
    def _body(request) -> dict:
        if not isinstance(request.data, dict):
            raise BadRequest("The request body must be a JSON object")
        return dict(request.data)
