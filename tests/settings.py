"""Settings for the test suite: the real settings, with a fast password hasher so that
creating users per test stays cheap. The live server the tests start uses them too."""

import os
from pathlib import Path

os.environ.setdefault("REPOMGR_DATA_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from repomgr.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Pages that use {% static %} (the admin, the UI) render without a collectstatic manifest.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
