"""Single sign-on logins (djangosaml2): users created on first login from the mapped
attributes, the IdP's group attribute mirrored to repomgr groups, an optional admin group."""

import threading
import time

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from djangosaml2.backends import Saml2Backend
from djangosaml2.conf import config_settings_loader
from saml2.config import SPConfig

from .models import ExternalIdentity
from .services import external_identity_record


class SamlBackend(Saml2Backend):
    def get_or_create_user(self, user_lookup_key, user_lookup_value, create_unknown_user,
                           idp_entityid, attributes, attribute_mapping, request):
        """As djangosaml2 does, except that a local account (one with a password) is never
        taken over by an assertion that happens to carry its name."""
        user, created = super().get_or_create_user(
            user_lookup_key, user_lookup_value, create_unknown_user, idp_entityid, attributes,
            attribute_mapping, request)
        if user is not None and not created and user.has_usable_password():
            return None, False
        return user, created

    def _update_user(self, user, attributes: dict, attribute_mapping: dict, force_save: bool = False):
        with transaction.atomic():
            user = super()._update_user(user, attributes, attribute_mapping, force_save)
            groups = sorted({str(name) for name in attributes.get(settings.SAML_GROUPS_ATTRIBUTE, [])})
            is_admin = bool(settings.SAML_ADMIN_GROUP) and settings.SAML_ADMIN_GROUP in groups
            if (user.is_superuser, user.is_staff) != (is_admin, is_admin):
                user.is_superuser = user.is_staff = is_admin
                user.save(update_fields=["is_superuser", "is_staff"])
            user.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])
            external_identity_record(user=user, realm=ExternalIdentity.Realm.SAML)
        return user


_config: tuple[float, SPConfig] | None = None
_config_lock = threading.Lock()


def config_loader(request=None) -> SPConfig:
    """pysaml2's configuration, built at most once per REPOMGR_SAML_METADATA_REFRESH_SECONDS:
    building it fetches the IdP's metadata when that is given by URL, which must not happen on
    every login (nor make every login fail while the IdP's metadata URL is briefly down)."""
    global _config
    with _config_lock:
        if _config is None or time.monotonic() - _config[0] > settings.SAML_METADATA_REFRESH_SECONDS:
            _config = (time.monotonic(), config_settings_loader(request))
        return _config[1]
