"""repomgr settings. Everything comes from the environment; .env.example documents each variable."""

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from apps.security import identity_settings

from .env import env_bool, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("REPOMGR_DATA_DIR", BASE_DIR / "var")
TMP_DIR = DATA_DIR / "tmp"
for _directory in (DATA_DIR, TMP_DIR):
    _directory.mkdir(parents=True, exist_ok=True)

VERSION = "0.1.0"
SECURE = env_bool("REPOMGR_SECURE", False)
DEBUG = env_bool("REPOMGR_DEBUG", False)


def _secret_key() -> str:
    """The configured key, or one generated once and kept in the data dir so every process shares it."""
    configured = env_str("REPOMGR_SECRET_KEY")
    if configured:
        return configured
    if SECURE:
        raise ImproperlyConfigured("REPOMGR_SECRET_KEY must be set when REPOMGR_SECURE=1")
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # Write aside, then link into place: processes starting together agree on one key.
        candidate = DATA_DIR / f".secret_key.{os.getpid()}"
        candidate.write_text(secrets.token_urlsafe(50))
        candidate.chmod(0o600)
        try:
            os.link(candidate, key_file)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("REPOMGR_ALLOWED_HOSTS", "*")
CSRF_TRUSTED_ORIGINS = env_list("REPOMGR_CSRF_TRUSTED_ORIGINS")
# Behind a TLS-terminating proxy, trust its X-Forwarded-Proto and Host so generated URLs are right.
if env_bool("REPOMGR_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_celery_beat",
    "apps.core",
    "apps.security",
    "apps.repositories",
    "apps.packages",
    "apps.pypi",
    "apps.docker",
    "apps.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Runs a reading request again if the configuration it took from the cache had changed.
    "apps.core.config_cache.ConfigurationCheckMiddleware",
    # Django's session, user and message middleware, standing aside for protocol requests
    # without a session cookie (apps/core/middleware.py).
    "apps.core.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.core.middleware.AuthenticationMiddleware",
    "apps.audit.middleware.RequestContextMiddleware",
    "apps.core.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "repomgr.urls"
WSGI_APPLICATION = "repomgr.wsgi.application"
# Artifact paths end without a slash and may look like anything; never redirect them.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'repomgr.sqlite3'}"),
        conn_max_age=env_int("REPOMGR_DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, tests) share the file: wait for locks instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- storage --------------------------------------------------------------------------------
STORAGE_BACKEND = env_str("REPOMGR_STORAGE", "filesystem")
if STORAGE_BACKEND == "filesystem":
    _artifacts_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # Content-addressed keys: writing the same key twice writes the same bytes.
        "OPTIONS": {"location": str(env_path("REPOMGR_STORAGE_DIR", DATA_DIR / "storage")),
                    "allow_overwrite": True},
    }
elif STORAGE_BACKEND == "s3":
    if not env_str("REPOMGR_S3_BUCKET"):
        raise ImproperlyConfigured("REPOMGR_STORAGE=s3 needs REPOMGR_S3_BUCKET")
    _artifacts_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("REPOMGR_S3_BUCKET"),
            "endpoint_url": env_str("REPOMGR_S3_ENDPOINT_URL") or None,
            "region_name": env_str("REPOMGR_S3_REGION") or None,
            "access_key": env_str("REPOMGR_S3_ACCESS_KEY") or None,
            "secret_key": env_str("REPOMGR_S3_SECRET_KEY") or None,
            "location": env_str("REPOMGR_S3_PREFIX"),
            "file_overwrite": True,
            "default_acl": None,
            "querystring_expire": 300,
        },
    }
else:
    raise ImproperlyConfigured(f"REPOMGR_STORAGE must be 'filesystem' or 's3', got {STORAGE_BACKEND!r}")
# Answer downloads from S3 with a presigned redirect instead of streaming through the server.
STORAGE_REDIRECT = env_bool("REPOMGR_STORAGE_REDIRECT", False)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(DATA_DIR / "media")}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    "artifacts": _artifacts_storage,
}
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Upload bodies beyond this size are spooled to disk, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(TMP_DIR)
FILE_UPLOAD_PERMISSIONS = 0o644
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- caches ---------------------------------------------------------------------------------
# The cache only ever speeds things up; correctness never depends on it, so a per-process
# default is safe. Point REPOMGR_CACHE_URL at Redis to share it between nodes.
_cache_url = env_str("REPOMGR_CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url else
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "repomgr"}
    )
}

# --- celery ---------------------------------------------------------------------------------
# Embedded default: a broker in the data dir that needs no server (fine for one node).
_celery_dir = DATA_DIR / "celery"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    for _sub in ("queue", "processed", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        # Exchange tables; kombu's default is a folder in the working directory.
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_IMPORTS = ["apps.packages.tasks", "apps.docker.tasks", "apps.security.tasks", "apps.audit.tasks"]
# Unreferenced blobs younger than this are kept, so collection never races a deploy.
GC_GRACE_SECONDS = env_int("REPOMGR_GC_GRACE_SECONDS", 3600)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
ADMIN_PASSWORD = env_str("REPOMGR_ADMIN_PASSWORD", "password")
LOGIN_URL = "/ui/login/"
LOGIN_REDIRECT_URL = "/ui/"
LOGOUT_REDIRECT_URL = "/ui/login/"
# The strongest first: new and re-hashed passwords use Argon2; older hashes still verify.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# Failed logins (UI, admin, Basic auth on every API) per client address: this many within the
# window lock that address out for LOGIN_LOCKOUT_SECONDS. Shared by all nodes (database).
LOGIN_MAX_FAILURES = env_int("REPOMGR_LOGIN_MAX_FAILURES", 10)
LOGIN_FAILURE_WINDOW = env_int("REPOMGR_LOGIN_FAILURE_WINDOW", 300)
LOGIN_LOCKOUT_SECONDS = env_int("REPOMGR_LOGIN_LOCKOUT_SECONDS", 300)
# Audit records older than this many days are deleted by a daily job (0 = keep forever).
AUDIT_RETENTION_DAYS = env_int("REPOMGR_AUDIT_RETENTION_DAYS", 365)
# Proxies whose X-Forwarded-For is believed for the client address (audit log, lock-out).
TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network(n, strict=False)
                          for n in env_list("REPOMGR_TRUSTED_PROXIES")]

# Directory (LDAP) and single sign-on (SAML) logins, each enabled by its settings.
AUTHENTICATION_BACKENDS = ["apps.security.throttle.LockoutBackend",
                           "django.contrib.auth.backends.ModelBackend"]
if identity_settings.ldap_enabled():
    AUTHENTICATION_BACKENDS.append("apps.security.ldap.DirectoryBackend")
    globals().update(identity_settings.ldap_settings())  # AUTH_LDAP_*
SAML_ENABLED = identity_settings.saml_enabled()
if SAML_ENABLED:
    INSTALLED_APPS.append("djangosaml2")
    MIDDLEWARE.append("djangosaml2.middleware.SamlSessionMiddleware")
    AUTHENTICATION_BACKENDS.append("apps.security.saml.SamlBackend")
    globals().update(identity_settings.saml_settings())  # SAML_*, SAML_CONFIG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.security.authentication.BasicAuthentication",
        "apps.security.authentication.BearerAuthentication",
        "apps.security.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "apps.core.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# --- security headers -----------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SECURE
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("REPOMGR_SESSION_SECONDS", 12 * 3600)
CSRF_COOKIE_SECURE = SECURE
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SECURE:
    SECURE_HSTS_SECONDS = env_int("REPOMGR_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("REPOMGR_HSTS_INCLUDE_SUBDOMAINS", False)
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("REPOMGR_SSL_REDIRECT", False)

# --- i18n, logging --------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("REPOMGR_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
