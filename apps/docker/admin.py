from django.contrib import admin

from .models import Manifest, Tag, UploadSession


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse registry content; it changes only through the registry API (digests verified)."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Manifest)
class ManifestAdmin(ReadOnlyAdmin):
    list_display = ("name", "digest", "repository", "media_type", "artifact_type", "size", "created")
    list_filter = ("repository", "media_type")
    search_fields = ("name", "digest", "subject_digest")
    list_select_related = ("repository",)


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ("name", "tag", "repository", "manifest", "modified")
    list_filter = ("repository",)
    search_fields = ("name", "tag", "manifest__digest")
    list_select_related = ("repository", "manifest")


@admin.register(UploadSession)
class UploadSessionAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "repository", "created", "modified")
    list_filter = ("repository",)
