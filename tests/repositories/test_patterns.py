import pytest
from django.core.exceptions import ValidationError

from apps.repositories.keys import validate_repository_key
from apps.repositories.patterns import path_allowed


@pytest.mark.parametrize("path,includes,excludes,allowed", [
    ("a/b/c.whl", "**/*", "", True),
    ("c.whl", "**/*.whl", "", True),
    ("x/c.whl", "**/*.whl", "", True),
    ("x/c.tar.gz", "**/*.whl", "", False),
    ("org/acme/lib.jar", "org/**", "", True),
    ("com/acme/lib.jar", "org/**", "", False),
    ("org/acme/secret/x", "org/**", "**/secret/**", False),
    ("a.txt", "", "", True),
    ("a.txt", "b/**, **/*.txt", "", True),
    ("", "nothing/**", "", True),
])
def test_ant_patterns(path, includes, excludes, allowed):
    assert path_allowed(path, includes, excludes) is allowed


@pytest.mark.parametrize("key", ["api", "v2", "artifactory", "ADMIN", "", "-x", "a/b", "a b", "x" * 65])
def test_reserved_or_malformed_keys_are_refused(key):
    with pytest.raises(ValidationError):
        validate_repository_key(key)


@pytest.mark.parametrize("key", ["generic-local", "pypi", "team.docker_1"])
def test_ordinary_keys(key):
    validate_repository_key(key)
