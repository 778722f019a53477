"""Bad uploads: each a clear 4xx in the upload protocol's form (text, message in the status
line), and nothing stored: no file, no blob, no spool left behind."""

import hashlib
import os
import socket
import time
import zipfile

import pytest
import requests

from apps.packages.models import Artifact, Blob
from apps.packages.storage import blob_store
from apps.pypi.models import PypiFile
from tests.factories import grant, make_user
from tests.factories.pypi import core_metadata, make_sdist, make_wheel
from tests.pypi.clients import post_upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upload_url(server):
    return f"{server.url}/api/pypi/pypi-local/"


@pytest.fixture
def assert_nothing_stored(settings):
    """A check that no file, artifact or blob exists and nothing is left in the temp dir
    beyond what it held when the test began (other tests may have left things there)."""
    before = set(os.listdir(settings.TMP_DIR))

    def left_behind():
        return set(os.listdir(settings.TMP_DIR)) - before

    def check(*uploaded):
        """``uploaded``: files whose bytes must not be in the blob store either."""
        assert PypiFile.objects.count() == 0
        assert Artifact.objects.count() == 0
        assert Blob.objects.count() == 0
        for path in uploaded:
            assert not blob_store().exists(hashlib.sha256(path.read_bytes()).hexdigest()), path
        deadline = time.monotonic() + 10
        while left_behind() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left_behind() == set()

    return check


def assert_refused(response, status: int, words: str):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert words.lower() in response.text.lower()
    assert words.lower() in response.reason.lower()


def wheel_with(directory, filename: str, metadata: bytes, *, info_dir: str | None = None):
    """A wheel named ``filename`` holding ``metadata`` as its METADATA, in ``info_dir``
    (by default the one the filename implies)."""
    name, version = filename.split("-")[:2]
    path = directory / filename
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{info_dir or f'{name}-{version}.dist-info'}/METADATA", metadata)
        archive.writestr(f"{name}/__init__.py", "")
    return path


def test_corrupt_wheel_and_sdist(upload_url, tmp_path, assert_nothing_stored):
    fake = tmp_path / "broken-1.0-py3-none-any.whl"
    fake.write_bytes(os.urandom(5000))
    assert_refused(post_upload(upload_url, fake), 400, "not a valid wheel")
    truncated = tmp_path / "cut-1.0-py3-none-any.whl"
    (tmp_path / "x").mkdir()
    truncated.write_bytes(make_wheel(tmp_path / "x", "cut", "1.0").read_bytes()[:-60])
    assert_refused(post_upload(upload_url, truncated), 400, "not a valid wheel")
    sdist = tmp_path / "bad-1.0.tar.gz"
    sdist.write_bytes(b"\x1f\x8b" + os.urandom(300))
    assert_refused(post_upload(upload_url, sdist), 400, "not a valid sdist")
    no_metadata = tmp_path / "empty-1.0-py3-none-any.whl"
    with zipfile.ZipFile(no_metadata, "w") as archive:
        archive.writestr("empty/__init__.py", "")
    assert_refused(post_upload(upload_url, no_metadata), 400, "metadata")
    assert_nothing_stored()


def test_metadata_must_agree_with_filename_and_form(upload_url, tmp_path, assert_nothing_stored):
    other_name = make_wheel(tmp_path, "honest", "1.0", metadata_name="sneaky")
    assert_refused(post_upload(upload_url, other_name), 400, "names project 'sneaky'")
    (tmp_path / "v").mkdir()
    other_version = make_wheel(tmp_path / "v", "honest", "1.0", metadata_version="2.0")
    assert_refused(post_upload(upload_url, other_version), 400, "version")
    (tmp_path / "ok").mkdir()
    good = make_wheel(tmp_path / "ok", "honest", "1.0")
    assert_refused(post_upload(upload_url, good, fields={"name": "someone-else"}), 400, "form names")
    assert_refused(post_upload(upload_url, good, fields={"version": "1.1"}), 400, "form says version")
    assert_refused(post_upload(upload_url, good, fields={"filetype": "sdist"}), 400, "filetype")
    sdist = make_sdist(tmp_path, "honest", "1.0")
    assert_refused(post_upload(upload_url, sdist, filename="honest-1.1.tar.gz"), 400, "version")
    assert_nothing_stored()


def test_digests_must_match_and_one_is_required(upload_url, tmp_path, assert_nothing_stored):
    wheel = make_wheel(tmp_path, "digest", "1.0")
    assert_refused(post_upload(upload_url, wheel, fields={"sha256_digest": "ab" * 32}), 400, "sha256_digest")
    assert_refused(post_upload(upload_url, wheel, fields={"sha256_digest": None, "md5_digest": "0" * 32}),
                   400, "md5_digest")
    assert_refused(post_upload(upload_url, wheel, fields={"blake2_256_digest": "0" * 64}), 400, "blake2_256")
    assert_refused(post_upload(upload_url, wheel, fields={"sha256_digest": None}), 400, "at least one")
    # The same bytes but one byte changed in transit.
    data = bytearray(wheel.read_bytes())
    data[100] ^= 1
    assert_refused(post_upload(upload_url, wheel, content=bytes(data)), 400, "sha256_digest")
    assert_nothing_stored()

    md5 = hashlib.md5(wheel.read_bytes()).hexdigest()
    accepted = post_upload(upload_url, wheel, fields={"sha256_digest": None, "md5_digest": md5})
    assert accepted.status_code == 200


@pytest.mark.parametrize("filename", [
    "../digest-1.0-py3-none-any.whl", "sub/digest-1.0-py3-none-any.whl",
    "..\\digest-1.0-py3-none-any.whl", "/etc/digest-1.0-py3-none-any.whl",
    "digest-1.0.exe", "digest-1.0-py3-none-any.egg", ".whl", "digest.whl",
    "digest-1.0-py3-none-" + ".".join(["any"] * 70) + ".whl",  # more than the 255 characters kept
])
def test_filenames_with_path_parts_or_of_no_known_kind(upload_url, tmp_path, assert_nothing_stored,
                                                      filename):
    wheel = make_wheel(tmp_path, "digest", "1.0")
    response = post_upload(upload_url, wheel, filename=filename)
    assert_refused(response, 400, "filename")
    if len(filename) > 255:
        assert_refused(response, 400, "longer than")
    assert_nothing_stored()


def test_who_may_upload_and_where(server, upload_url, tmp_path, assert_nothing_stored):
    wheel = make_wheel(tmp_path, "guarded", "1.0")
    anonymous = post_upload(upload_url, wheel, auth=None)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    make_user("reader")
    grant("read-local", repositories=["pypi-local"], users={"reader": ["read"]})
    assert post_upload(upload_url, wheel, auth=("reader", "secret-pass")).status_code == 403
    assert post_upload(upload_url, wheel, auth=("admin", "wrong")).status_code == 401
    remote = post_upload(f"{server.url}/api/pypi/pypi-remote/", wheel)
    assert remote.status_code == 400
    assert post_upload(f"{server.url}/api/pypi/generic-local/", wheel).status_code == 404
    bad_action = post_upload(upload_url, wheel, fields={":action": "remove_pkg"})
    assert_refused(bad_action, 400, ":action")
    assert requests.post(upload_url, auth=("admin", "password"), data=b"x",
                         headers={"Content-Type": "application/octet-stream"}).status_code == 400
    assert_nothing_stored()


def test_client_leaving_half_way_through_a_2gb_upload(server, tmp_path, assert_nothing_stored):
    boundary = "----repomgrtestboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\":action\"\r\n\r\nfile_upload\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"sha256_digest\"\r\n\r\n{'0' * 64}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; "
            f"filename=\"huge-1.0-py3-none-any.whl\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    declared = 2 * 1024 ** 3
    request = (f"POST /api/pypi/pypi-local/ HTTP/1.1\r\nHost: {server.host}\r\n"
               f"Authorization: Basic YWRtaW46cGFzc3dvcmQ=\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {declared}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request + head)
        chunk = os.urandom(1024 * 1024)
        for _ in range(20):  # 20 MB of the announced 2 GB, then the client is gone
            sock.sendall(chunk)
    assert requests.get(f"{server.url}/api/system/ping").status_code == 200
    assert_nothing_stored()


def test_a_file_request_under_an_invalid_project_name_never_reaches_the_upstream(server, http):
    from apps.repositories.models import RemoteDocument
    from tests.factories import make_repository
    from tests.pypi.upstream import StaticIndex

    upstream = StaticIndex().start()
    try:
        make_repository("bad-names", "remote", "pypi", url=upstream.url)
        for project in ("-lead", "trail-", "a b", "%2e%2e"):
            for suffix in ("", ".metadata"):
                url = f"{server.url}/api/pypi/bad-names/packages/{project}/pkg-1.0-py3-none-any.whl{suffix}"
                assert http.get(url).status_code == 404, (project, suffix)
        assert not upstream.hits
        assert not RemoteDocument.objects.exists()
    finally:
        upstream.stop()


def test_nul_characters_in_the_form_or_the_metadata(upload_url, tmp_path, assert_nothing_stored):
    wheel = make_wheel(tmp_path, "nul", "1.0")
    assert_refused(post_upload(upload_url, wheel, fields={"comment": "a\0b"}), 400, "NUL")
    (tmp_path / "m").mkdir()
    in_metadata = make_wheel(tmp_path / "m", "nul", "1.0", requires_python=">=3\0")
    assert_refused(post_upload(upload_url, in_metadata), 400, "NUL")
    assert_nothing_stored(wheel, in_metadata)


def test_values_longer_than_what_the_index_keeps(upload_url, tmp_path, assert_nothing_stored):
    version = "1" + ".0" * 70
    long_version = make_wheel(tmp_path, "longver", version)
    assert_refused(post_upload(upload_url, long_version), 400, "version is longer than 128")
    requires = ",".join(f"!=3.{minor}.*" for minor in range(40))
    long_requires = make_wheel(tmp_path, "longreq", "1.0", requires_python=requires)
    assert_refused(post_upload(upload_url, long_requires), 400, "Requires-Python is longer than 255")
    long_name = wheel_with(tmp_path, "a_b-1.0-py3-none-any.whl",
                           core_metadata("a" + "-" * 300 + "b", "1.0"))
    assert_refused(post_upload(upload_url, long_name), 400, "name is longer than 255")
    assert_nothing_stored(long_version, long_requires, long_name)


def test_a_wheel_for_many_pythons(upload_url, tmp_path):
    """A compressed tag set (PEP 425) may run to most of the filename: nothing to refuse."""
    pythons = ".".join(f"cp3{minor}" for minor in range(5, 21))
    wheel = make_wheel(tmp_path, "manytags", "1.0", tag=f"{pythons}-none-any")
    assert post_upload(upload_url, wheel).status_code == 200
    assert len(PypiFile.objects.get().python_version) > 64
    assert blob_store().exists(hashlib.sha256(wheel.read_bytes()).hexdigest())  # what the others check


@pytest.mark.parametrize("name", ["odd name", "odd!name", "dëmo", "\u017fetup", "-lead", "trail."])
def test_project_names_that_are_not_pep_508_names(upload_url, tmp_path, assert_nothing_stored, name):
    sdist = make_sdist(tmp_path, name, "1.0")
    assert_refused(post_upload(upload_url, sdist), 400, "project name")
    wheel = wheel_with(tmp_path, f"{name}-1.0-py3-none-any.whl", core_metadata(name, "1.0"))
    assert_refused(post_upload(upload_url, wheel), 400, "project name")
    assert_nothing_stored(sdist, wheel)


@pytest.mark.parametrize("metadata, words", [
    (b"Metadata-Version: 3.0\nName: meta\nVersion: 1.0\n", "not a valid metadata version"),
    (b"Metadata-Version: banana\nName: meta\nVersion: 1.0\n", "not a valid metadata version"),
    (b"Name: meta\nVersion: 1.0\n", "lacks Metadata-Version"),
    (core_metadata("meta", "1.0", requires_python=">=3.x"), "requires-python"),
    (core_metadata("meta", "1.0", requires_dist=("ok>=1", "broken >=")), "requires-dist"),
    (b"Metadata-Version: 2.1\nName: meta\nVersion: 1.0\nRequires-Python: >=3\xff\n", "requires-python"),
    (b"Metadata-Version: 1.1\nName: meta\nVersion: 1.0\nRequires-Python: >=3\n", "requires-python"),
])
def test_core_metadata_an_index_cannot_use(upload_url, tmp_path, assert_nothing_stored, metadata, words):
    wheel = wheel_with(tmp_path, "meta-1.0-py3-none-any.whl", metadata)
    assert_refused(post_upload(upload_url, wheel), 400, words)
    assert_nothing_stored(wheel)


def test_a_wheel_whose_dist_info_is_for_another_project(upload_url, tmp_path, assert_nothing_stored):
    other_project = wheel_with(tmp_path, "mine-1.0-py3-none-any.whl", core_metadata("mine", "1.0"),
                               info_dir="theirs-1.0.dist-info")
    assert_refused(post_upload(upload_url, other_project), 400, "dist-info")
    (tmp_path / "v").mkdir()
    other_version = wheel_with(tmp_path / "v", "mine-1.0-py3-none-any.whl", core_metadata("mine", "1.0"),
                               info_dir="mine-2.0.dist-info")
    assert_refused(post_upload(upload_url, other_version), 400, "dist-info")
    assert_nothing_stored(other_project, other_version)
