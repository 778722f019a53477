"""The web UI's identity pages: log in (local, LDAP or SSO), log out, and manage one's own
access tokens. Plain Django views and forms: every form carries a CSRF token."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as session_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.repositories.models import Repository

from . import tokens
from .ldap import DirectoryUnavailable
from .throttle import LoginLocked, login_check

SAML_BACKEND = "apps.security.saml.SamlBackend"


class LockoutFormMixin:
    """A login form that says why: the address is locked out, or the directory does not answer."""

    def clean(self):
        try:
            login_check()
            return super().clean()
        except LoginLocked as exc:
            raise ValidationError(str(exc.detail), code="locked") from None
        except DirectoryUnavailable as exc:
            raise ValidationError(str(exc.detail), code="directory") from None


class LoginForm(LockoutFormMixin, AuthenticationForm):
    pass


class AdminLoginForm(LockoutFormMixin, AdminAuthenticationForm):
    """The admin site's login form (staff only), with the same messages."""


def with_sso_link(admin_login):
    """The admin site's login view, told whether to offer single sign-on."""
    def login(request, extra_context=None):
        return admin_login(request, extra_context={"saml_enabled": settings.SAML_ENABLED,
                                                   **(extra_context or {})})
    return login


class LoginView(auth_views.LoginView):
    template_name = "security/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "saml_enabled": settings.SAML_ENABLED}


@require_POST
def logout(request):
    """End the session; a session that came through SSO also ends at the identity provider."""
    if settings.SAML_ENABLED and request.session.get("_auth_user_backend") == SAML_BACKEND:
        return HttpResponseRedirect("/ui/saml2/logout/")
    session_logout(request)
    return HttpResponseRedirect(settings.LOGOUT_REDIRECT_URL)


@login_required
def home(request):
    return render(request, "security/home.html", {"saml_enabled": settings.SAML_ENABLED})


class TokenForm(forms.Form):
    description = forms.CharField(max_length=256, required=False)
    expires_in_days = forms.IntegerField(min_value=0, max_value=3650, required=False, initial=30,
                                         help_text="0 or empty: never expires.")
    read_only = forms.BooleanField(required=False)
    repositories = forms.MultipleChoiceField(required=False, widget=forms.SelectMultiple(attrs={"size": 6}),
                                             help_text="None selected: every repository you may use.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["repositories"].choices = [(key, key) for key in
                                               Repository.objects.order_by("key").values_list("key", flat=True)]


@login_required
def token_list(request):
    """GET: your tokens (an administrator: everyone's) and the form; POST: create one of your
    own and show its secret, this once only."""
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        created = tokens.token_create(
            user=request.user, description=form.cleaned_data["description"],
            expires=timezone.now() + timedelta(days=days) if days else None,
            read_only=form.cleaned_data["read_only"], repositories=form.cleaned_data["repositories"])
        form = TokenForm()
    response = render(request, "security/tokens.html", {
        "form": form, "tokens": tokens.tokens_visible(user=request.user),
        "created": created[0] if created else None, "secret": created[1] if created else None})
    response["Cache-Control"] = "no-store"  # the page may hold a secret
    return response


@login_required
@require_POST
def token_revoke(request, token_id: str):
    owner = None if request.user.is_superuser else request.user
    if tokens.token_revoke(token_id=token_id, user=owner):
        messages.success(request, "Token revoked.")
    else:
        messages.error(request, "No such token.")
    return HttpResponseRedirect("/ui/tokens/")
