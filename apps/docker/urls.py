"""Registry routes, mounted at /v2/. The first path segment after /v2/ is the repository key."""

from django.urls import path, re_path

from . import views

REPO = r"(?P<repo_key>[A-Za-z0-9][A-Za-z0-9._-]*)"
IMAGE = rf"^{REPO}/(?P<name>.+)"

urlpatterns = [
    path("", views.PingView.as_view()),
    path("token", views.TokenView.as_view()),
    path("_catalog", views.CatalogView.as_view()),
    re_path(IMAGE + r"/manifests/(?P<reference>[^/]+)$", views.ManifestView.as_view()),
    re_path(IMAGE + r"/blobs/uploads/?$", views.UploadStartView.as_view()),
    re_path(IMAGE + r"/blobs/uploads/(?P<session_id>[^/]+)$", views.UploadView.as_view()),
    re_path(IMAGE + r"/blobs/(?P<digest>[^/]+)$", views.BlobView.as_view()),
    re_path(IMAGE + r"/tags/list$", views.TagsView.as_view()),
    re_path(IMAGE + r"/referrers/(?P<digest>[^/]+)$", views.ReferrersView.as_view()),
    # Anything else under /v2/ is the registry's, never the raw artifact API's.
    re_path(r"^.*$", views.UnknownView.as_view()),
]


# Artifactory's Docker REST API, mounted at api/docker/ (and so also under /artifactory/).
api_urlpatterns = [
    re_path(rf"^{REPO}/v2/_catalog$", views.RepositoryCatalogView.as_view()),
    re_path(rf"^{REPO}/v2/promote$", views.PromoteView.as_view()),
    re_path(rf"^{REPO}/v2/(?P<name>.+)/tags/list$", views.TagsView.as_view()),
]
