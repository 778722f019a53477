"""Settings for the optional directory (LDAP) and single sign-on (SAML) logins, built from
REPOMGR_LDAP_* and REPOMGR_SAML_* (see .env.example and the README). Imported by
repomgr/settings.py only; nothing here touches the database."""

from django.core.exceptions import ImproperlyConfigured

from repomgr.env import env_bool, env_int, env_list, env_str

_GROUP_TYPES = {
    "groupOfNames": "GroupOfNamesType",
    "groupOfUniqueNames": "GroupOfUniqueNamesType",
    "posixGroup": "PosixGroupType",
    "activeDirectory": "ActiveDirectoryGroupType",
}


def ldap_enabled() -> bool:
    return bool(env_str("REPOMGR_LDAP_SERVER_URI"))


def ldap_settings() -> dict:
    """django-auth-ldap's AUTH_LDAP_* settings."""
    import ldap
    from django_auth_ldap import config

    timeout = env_int("REPOMGR_LDAP_TIMEOUT", 5)
    user_base = env_str("REPOMGR_LDAP_USER_SEARCH_BASE")
    dn_template = env_str("REPOMGR_LDAP_USER_DN_TEMPLATE")
    if not (user_base or dn_template):
        raise ImproperlyConfigured(
            "LDAP needs REPOMGR_LDAP_USER_SEARCH_BASE or REPOMGR_LDAP_USER_DN_TEMPLATE")
    values = {
        "AUTH_LDAP_SERVER_URI": env_str("REPOMGR_LDAP_SERVER_URI"),
        "AUTH_LDAP_BIND_DN": env_str("REPOMGR_LDAP_BIND_DN"),
        "AUTH_LDAP_BIND_PASSWORD": env_str("REPOMGR_LDAP_BIND_PASSWORD"),
        "AUTH_LDAP_START_TLS": env_bool("REPOMGR_LDAP_START_TLS", False),
        # A directory that does not answer must fail fast, not hold a login (or a pip run).
        "AUTH_LDAP_CONNECTION_OPTIONS": {
            ldap.OPT_NETWORK_TIMEOUT: timeout, ldap.OPT_TIMEOUT: timeout, ldap.OPT_REFERRALS: 0},
        "AUTH_LDAP_USER_ATTR_MAP": {
            "first_name": env_str("REPOMGR_LDAP_ATTR_FIRST_NAME", "givenName"),
            "last_name": env_str("REPOMGR_LDAP_ATTR_LAST_NAME", "sn"),
            "email": env_str("REPOMGR_LDAP_ATTR_EMAIL", "mail"),
        },
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_CACHE_TIMEOUT": env_int("REPOMGR_LDAP_CACHE_SECONDS", 300),
        "LDAP_RETRY_SECONDS": env_int("REPOMGR_LDAP_RETRY_SECONDS", 30),
    }
    if dn_template:
        values["AUTH_LDAP_USER_DN_TEMPLATE"] = dn_template
    else:
        values["AUTH_LDAP_USER_SEARCH"] = config.LDAPSearch(
            user_base, ldap.SCOPE_SUBTREE, env_str("REPOMGR_LDAP_USER_FILTER", "(uid=%(user)s)"))
    group_base = env_str("REPOMGR_LDAP_GROUP_SEARCH_BASE")
    if group_base:
        kind = env_str("REPOMGR_LDAP_GROUP_TYPE", "groupOfNames")
        if kind not in _GROUP_TYPES:
            raise ImproperlyConfigured(
                f"REPOMGR_LDAP_GROUP_TYPE must be one of {', '.join(_GROUP_TYPES)}, got {kind!r}")
        object_class = "group" if kind == "activeDirectory" else kind
        values["AUTH_LDAP_GROUP_SEARCH"] = config.LDAPSearch(
            group_base, ldap.SCOPE_SUBTREE,
            env_str("REPOMGR_LDAP_GROUP_FILTER", f"(objectClass={object_class})"))
        values["AUTH_LDAP_GROUP_TYPE"] = getattr(config, _GROUP_TYPES[kind])(
            name_attr=env_str("REPOMGR_LDAP_GROUP_NAME_ATTR", "cn"))
        # Directory groups become repomgr groups of the same name, so permission targets can
        # name them. Only the listed ones when REPOMGR_LDAP_MIRROR_GROUPS names some.
        mirrored = env_list("REPOMGR_LDAP_MIRROR_GROUPS")
        values["AUTH_LDAP_MIRROR_GROUPS"] = mirrored or True
        admin_group = env_str("REPOMGR_LDAP_ADMIN_GROUP")
        if admin_group:
            values["AUTH_LDAP_USER_FLAGS_BY_GROUP"] = {"is_superuser": admin_group,
                                                       "is_staff": admin_group}
        required = env_str("REPOMGR_LDAP_REQUIRE_GROUP")
        if required:
            values["AUTH_LDAP_REQUIRE_GROUP"] = required
    return values


def saml_enabled() -> bool:
    return bool(env_str("REPOMGR_SAML_IDP_METADATA_FILE") or env_str("REPOMGR_SAML_IDP_METADATA_URL"))


def saml_settings() -> dict:
    """djangosaml2's SAML_* settings and pysaml2's SAML_CONFIG."""
    import saml2
    import saml2.saml

    base_url = env_str("REPOMGR_SAML_BASE_URL").rstrip("/")
    if not base_url:
        raise ImproperlyConfigured("SAML needs REPOMGR_SAML_BASE_URL (this server's public URL)")
    metadata = {}
    if env_str("REPOMGR_SAML_IDP_METADATA_FILE"):
        metadata["local"] = [env_str("REPOMGR_SAML_IDP_METADATA_FILE")]
    if env_str("REPOMGR_SAML_IDP_METADATA_URL"):
        metadata["remote"] = [{"url": env_str("REPOMGR_SAML_IDP_METADATA_URL")}]
    key_file, cert_file = env_str("REPOMGR_SAML_KEY_FILE"), env_str("REPOMGR_SAML_CERT_FILE")
    sp = {
        "name_id_format": saml2.saml.NAMEID_FORMAT_UNSPECIFIED,
        "allow_unsolicited": False,
        "authn_requests_signed": bool(key_file),
        "logout_requests_signed": bool(key_file),
        "want_assertions_signed": True,
        "want_response_signed": env_bool("REPOMGR_SAML_WANT_RESPONSE_SIGNED", False),
        "endpoints": {
            "assertion_consumer_service": [(f"{base_url}/ui/saml2/acs/", saml2.BINDING_HTTP_POST)],
            "single_logout_service": [(f"{base_url}/ui/saml2/ls/", saml2.BINDING_HTTP_REDIRECT),
                                      (f"{base_url}/ui/saml2/ls/post/", saml2.BINDING_HTTP_POST)],
        },
    }
    config = {
        "xmlsec_binary": env_str("REPOMGR_SAML_XMLSEC_BINARY", "/usr/bin/xmlsec1"),
        "entityid": env_str("REPOMGR_SAML_SP_ENTITY_ID", f"{base_url}/ui/saml2/metadata/"),
        "service": {"sp": sp},
        "metadata": metadata,
        "allow_unknown_attributes": True,
        "debug": False,
    }
    if key_file:
        config["key_file"] = key_file
        config["cert_file"] = cert_file
        config["encryption_keypairs"] = [{"key_file": key_file, "cert_file": cert_file}]
    username_attr = env_str("REPOMGR_SAML_ATTR_USERNAME", "uid")
    return {
        "SAML_CONFIG": config,
        "SAML_DJANGO_USER_MAIN_ATTRIBUTE": "username",
        "SAML_CREATE_UNKNOWN_USER": True,
        "SAML_USE_NAME_ID_AS_USERNAME": username_attr == "NameID",
        "SAML_ATTRIBUTE_MAPPING": {
            username_attr: ("username",),
            env_str("REPOMGR_SAML_ATTR_EMAIL", "mail"): ("email",),
            env_str("REPOMGR_SAML_ATTR_FIRST_NAME", "givenName"): ("first_name",),
            env_str("REPOMGR_SAML_ATTR_LAST_NAME", "sn"): ("last_name",),
        },
        "SAML_GROUPS_ATTRIBUTE": env_str("REPOMGR_SAML_ATTR_GROUPS", "groups"),
        "SAML_ADMIN_GROUP": env_str("REPOMGR_SAML_ADMIN_GROUP"),
        "SAML_DEFAULT_BINDING": saml2.BINDING_HTTP_REDIRECT,
        "SAML_SESSION_COOKIE_NAME": "repomgr_saml",
        "SAML_IGNORE_LOGOUT_ERRORS": True,
        "SAML_CONFIG_LOADER": "apps.security.saml.config_loader",
        "SAML_METADATA_REFRESH_SECONDS": env_int("REPOMGR_SAML_METADATA_REFRESH_SECONDS", 3600),
    }
