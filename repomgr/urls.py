"""The URL map (DESIGN.md §3). The catch-all raw artifact route comes last; every route is
also served under /artifactory/ for clients that hard-code Artifactory's context path."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from apps.core.views import PingView, VersionView
from apps.docker.urls import api_urlpatterns as docker_api
from apps.packages.views import ArtifactView, StorageInfoView, StorageView
from apps.pypi.urls import urlpatterns as pypi
from apps.repositories.views import RepositoryDetailView, RepositoryListView
from apps.security import ui
from apps.security import views as security

REPO = r"(?P<repo_key>[A-Za-z0-9][A-Za-z0-9._-]*)"
# Line breaks included, so that the view refuses such a path with a clear error.
ANY_PATH = r"[\s\S]*"

api = [
    path("api/system/ping", PingView.as_view()),
    path("api/system/version", VersionView.as_view()),
    path("api/storageinfo", StorageInfoView.as_view()),
    path("api/docker/", include(docker_api)),
    path("api/repositories", RepositoryListView.as_view()),
    path("api/repositories/<str:key>", RepositoryDetailView.as_view()),
    re_path(rf"^api/storage/{REPO}(?:/(?P<path>{ANY_PATH}))?$", StorageView.as_view()),
    path("api/security/users", security.UserListView.as_view()),
    path("api/security/users/<str:name>", security.UserDetailView.as_view()),
    path("api/security/groups", security.GroupListView.as_view()),
    path("api/security/groups/<str:name>", security.GroupDetailView.as_view()),
    path("api/security/token", security.TokenView.as_view()),
    path("api/security/token/revoke", security.TokenRevokeView.as_view()),
    path("api/security/token/<str:token_id>", security.TokenRevokeView.as_view()),
    path("api/v2/security/permissions", security.PermissionListView.as_view()),
    path("api/v2/security/permissions/<str:name>", security.PermissionDetailView.as_view()),
]

ui_pages = [
    path("ui/login/", ui.LoginView.as_view()),
    path("ui/logout/", ui.logout),
    path("ui/tokens/", ui.token_list),
    path("ui/tokens/<str:token_id>/revoke/", ui.token_revoke),
    path("ui/", ui.home),
]
if settings.SAML_ENABLED:  # SP metadata: /ui/saml2/metadata/
    ui_pages.append(path("ui/saml2/", include("djangosaml2.urls")))

raw = [
    re_path(rf"^{REPO}(?:/(?P<path>{ANY_PATH}))?$", ArtifactView.as_view()),
]

# The protocols' routes come first: every pip, uv and docker request is tried against the
# patterns in order, and the registry's are behind one "v2/" prefix test.
urlpatterns = [
    path("v2/", include("apps.docker.urls")),
    *pypi,
    *api,
    path("admin/", admin.site.urls),
    *ui_pages,
    path("artifactory/", include(api + pypi + raw)),
    *raw,  # the catch-all, last
]

handler404 = "apps.core.errors.handler404"
handler500 = "apps.core.errors.handler500"
