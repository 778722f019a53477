"""The raw API never replaces the bytes of a PyPI upload, even for a caller who may delete:
the PyPI API never reuses a file name, and the index would advertise the old hash."""

import hashlib

import pytest
import requests

from tests.factories import grant, make_user
from tests.factories.pypi import make_wheel
from tests.pypi.clients import post_upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_raw_put_over_an_uploaded_file_is_refused_and_changes_nothing(server, tmp_path):
    path = make_wheel(tmp_path, "rel", "1.0")
    assert post_upload(f"{server.url}/api/pypi/pypi-local/", path).ok
    make_user("deleter", "deleter-pass-1")
    grant("pypi-deleter", repositories=["pypi-local"], users={"deleter": ["read", "deploy", "delete"]})
    auth = ("deleter", "deleter-pass-1")

    replaced = requests.put(f"{server.url}/pypi-local/rel/{path.name}", data=b"other bytes", auth=auth)
    assert replaced.status_code == 409 and "PyPI upload" in replaced.json()["errors"][0]["message"]
    served = requests.get(f"{server.url}/api/pypi/pypi-local/packages/rel/{path.name}")
    assert hashlib.sha256(served.content).hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    # The same bytes again are no change; a delete, then an upload, is the way to replace.
    again = requests.put(f"{server.url}/pypi-local/rel/{path.name}", data=path.read_bytes(), auth=auth)
    assert again.status_code == 201
    assert requests.delete(f"{server.url}/pypi-local/rel/{path.name}", auth=auth).status_code == 204
    assert post_upload(f"{server.url}/api/pypi/pypi-local/", path, auth=auth).ok
