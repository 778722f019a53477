from django import forms
from django.contrib import admin

from .models import Repository, VirtualMember


class RepositoryForm(forms.ModelForm):
    # The upstream password is write-only: the page never shows it; blank keeps the stored one.
    password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                               help_text="Leave blank to keep the current password.")

    class Meta:
        model = Repository
        fields = "__all__"

    def clean_password(self):
        return self.cleaned_data["password"] or (self.instance.password if self.instance.pk else "")


class VirtualMemberInline(admin.TabularInline):
    model = VirtualMember
    fk_name = "virtual"
    extra = 1
    autocomplete_fields = ["member"]


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    form = RepositoryForm
    list_display = ("key", "rclass", "package_type", "url", "description")
    list_filter = ("rclass", "package_type")
    search_fields = ("key", "description")
    inlines = [VirtualMemberInline]
    fieldsets = (
        (None, {"fields": ("key", "rclass", "package_type", "description", "notes",
                           "includes_pattern", "excludes_pattern")}),
        ("Remote", {"fields": ("url", "username", "password", "metadata_retrieval_cache_secs",
                               "missed_retrieval_cache_secs", "socket_timeout_secs", "offline",
                               "store_artifacts_locally")}),
        ("Virtual", {"fields": ("default_deployment_repo",)}),
    )
