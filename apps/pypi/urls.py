"""PyPI routes, mounted under /api/pypi/<repo>/ (and again under /artifactory/)."""

from django.urls import re_path

from . import views

REPO = r"(?P<repo_key>[A-Za-z0-9][A-Za-z0-9._-]*)"
PROJECT = r"(?P<project>[^/]+)"

urlpatterns = [
    re_path(rf"^api/pypi/{REPO}/?$", views.UploadView.as_view()),
    re_path(rf"^api/pypi/{REPO}/legacy/?$", views.UploadView.as_view()),
    re_path(rf"^api/pypi/{REPO}/allowlist$", views.AllowlistView.as_view()),
    re_path(rf"^api/pypi/{REPO}/simple/?$", views.SimpleIndexView.as_view()),
    re_path(rf"^api/pypi/{REPO}/simple/{PROJECT}/?$", views.SimpleProjectView.as_view()),
    re_path(rf"^api/pypi/{REPO}/packages/{PROJECT}/(?P<filename>[^/]+)$", views.FileView.as_view()),
    re_path(rf"^api/pypi/{REPO}/pypi/{PROJECT}/json$", views.JsonApiView.as_view()),
    re_path(rf"^api/pypi/{REPO}/pypi/{PROJECT}/(?P<version>[^/]+)/json$", views.JsonApiView.as_view()),
    re_path(rf"^api/pypi/{REPO}/pypi/{PROJECT}/(?P<version>[^/]+)/?$", views.ReleaseView.as_view()),
]
