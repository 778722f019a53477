from django.contrib import admin

from .models import PypiFile, PypiVirtualPolicy


@admin.register(PypiVirtualPolicy)
class PypiVirtualPolicyAdmin(admin.ModelAdmin):
    list_display = ("repository", "modified")


@admin.register(PypiFile)
class PypiFileAdmin(admin.ModelAdmin):
    list_display = ("filename", "project", "version", "upload_time", "yanked")
    list_filter = ("yanked", "packagetype")
    search_fields = ("filename",)
    readonly_fields = [f.name for f in PypiFile._meta.fields]
