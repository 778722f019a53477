from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "apps.security"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from apps.core.config_cache import watch

        from .models import PermissionGrant, PermissionTarget, SecuritySettings

        # What authorize() and authentication read on every request (cached per process).
        user_model = get_user_model()
        watch(SecuritySettings, PermissionTarget, PermissionGrant, PermissionTarget.repositories.through,
              Group, user_model.groups.through)
        watch(user_model, ignoring=frozenset({"last_login"}))  # a login is no change

        from django.contrib.auth.signals import user_login_failed

        from .throttle import on_login_failed

        user_login_failed.connect(on_login_failed, dispatch_uid="security.count_login_failure")

        from django.contrib import admin

        from .ui import AdminLoginForm, with_sso_link

        admin.site.login_form = AdminLoginForm
        admin.site.login_template = "security/admin_login.html"
        admin.site.login = with_sso_link(admin.site.login)
