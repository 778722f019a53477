from django.contrib import admin

from .models import Artifact, Blob


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    """Browse artifacts; content changes go through the REST and protocol APIs."""

    list_display = ("path", "repository", "created_by", "modified", "download_count")
    list_filter = ("repository",)
    search_fields = ("path", "blob__sha256", "blob__sha1")
    list_select_related = ("repository",)
    readonly_fields = [f.name for f in Artifact._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Blob)
class BlobAdmin(admin.ModelAdmin):
    list_display = ("sha256", "size", "created")
    search_fields = ("sha256", "sha1", "md5")
    readonly_fields = [f.name for f in Blob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
