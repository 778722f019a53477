from django.contrib import admin

from .models import AccessToken, ExternalIdentity, PermissionGrant, PermissionTarget, SecuritySettings


class PermissionGrantInline(admin.TabularInline):
    model = PermissionGrant
    extra = 1
    autocomplete_fields = ["user", "group"]


@admin.register(PermissionTarget)
class PermissionTargetAdmin(admin.ModelAdmin):
    list_display = ("name", "any_local", "any_remote", "include_patterns", "exclude_patterns")
    search_fields = ("name",)
    filter_horizontal = ("repositories",)
    inlines = [PermissionGrantInline]


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owners (the secret is shown once); admins list and revoke."""

    list_display = ("token_id", "user", "description", "created", "expires", "last_used")
    search_fields = ("token_id", "user__username", "description")
    exclude = ("digest",)
    readonly_fields = ("token_id", "user", "description", "created", "expires", "last_used")

    def has_add_permission(self, request):
        return False


@admin.register(SecuritySettings)
class SecuritySettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "anonymous_access")

    def has_add_permission(self, request):
        return not SecuritySettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    """Which accounts come from the directory or the SSO (recorded at login)."""

    list_display = ("user", "realm", "last_seen")
    list_filter = ("realm",)
    search_fields = ("user__username",)
    readonly_fields = ("user", "realm", "last_seen")

    def has_add_permission(self, request):
        return False
