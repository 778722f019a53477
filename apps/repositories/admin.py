from django import forms
from django.contrib import admin

from . import rules
from .models import Repository, VirtualMember


# The REST field names rules speak of -> the admin form's names.
_ADMIN_FIELDS = {"defaultDeploymentRepo": "default_deployment_repo"}


class RepositoryForm(forms.ModelForm):
    # The upstream password is write-only: the page never shows it; blank keeps the stored one.
    password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                               help_text="Leave blank to keep the current password.")

    class Meta:
        model = Repository
        fields = "__all__"

    def clean_password(self):
        return self.cleaned_data["password"] or (self.instance.password if self.instance.pk else "")

    def clean(self):
        data = super().clean()
        rclass = data.get("rclass")
        if rclass:
            problems = {
                **rules.config_problems(rclass=rclass, url=data.get("url", ""),
                                        previous_rclass=self.instance.rclass if self.instance.pk else None),
                **rules.deployment_problems(rclass=rclass, deployment=data.get("default_deployment_repo"),
                                            members=None),
            }
            for field, message in problems.items():
                self.add_error(_ADMIN_FIELDS.get(field, field), message)
        return data


class VirtualMemberFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        virtual = self.instance
        members = [form.cleaned_data["member"] for form in self.forms
                   if form.cleaned_data.get("member") and not form.cleaned_data.get("DELETE")]
        problems = rules.member_problems(key=virtual.key, rclass=virtual.rclass,
                                         package_type=virtual.package_type, members=members)
        problems.update(rules.deployment_problems(rclass=virtual.rclass,
                                                  deployment=virtual.default_deployment_repo,
                                                  members=members))
        if problems:
            raise forms.ValidationError(list(problems.values()))


class VirtualMemberInline(admin.TabularInline):
    model = VirtualMember
    formset = VirtualMemberFormSet
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
