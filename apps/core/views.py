"""/api/system/ping and /api/system/version."""

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from rest_framework.response import Response
from rest_framework.views import APIView


class PingView(APIView):
    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return HttpResponse("OK", content_type="text/plain")


class VersionView(APIView):
    def get(self, request):
        return Response({"version": settings.VERSION, "revision": settings.VERSION,
                         "addons": ["pypi", "docker", "generic"], "license": "Apache-2.0"})
