from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is written by the server, never edited."""

    list_display = ("time", "actor", "action", "target", "success", "client_address")
    list_filter = ("action", "success", "time")
    search_fields = ("actor", "target", "client_address")
    date_hierarchy = "time"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
