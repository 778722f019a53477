"""Configuring repositories in the Django admin, through a browser-like session against the
live server: the same rules as the REST API, and the upstream password never shown."""

import re

import pytest
import requests

from apps.repositories.models import Repository, VirtualMember
from tests.livestack import LiveServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(bootstrapped):
    """A server of its own per test: the admin writes log entries that point at content types,
    which a shared server would remember from a database the previous test flushed."""
    live = LiveServer(log_name="server-admin").start()
    yield live
    live.stop()


@pytest.fixture
def browser(server) -> requests.Session:
    session = requests.Session()
    session.get(f"{server.url}/admin/login/")
    logged_in = session.post(f"{server.url}/admin/login/", data={
        "username": "admin", "password": "password", "next": "/admin/",
        "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert logged_in.url.rstrip("/").endswith("/admin"), logged_in.url
    session.base = server.url
    return session


def submit(browser, url: str, fields: dict, members: list[str] = ()) -> requests.Response:
    """POST the repository form as the page would, with the virtual members inline."""
    page = browser.get(browser.base + url).text
    prefix = re.search(r'name="([\w-]+)-TOTAL_FORMS"', page).group(1)
    ids = {r.key: r.pk for r in Repository.objects.all()}
    data = {"csrfmiddlewaretoken": browser.cookies["csrftoken"], "_save": "Save",
            "includes_pattern": "**/*", "metadata_retrieval_cache_secs": "600",
            "missed_retrieval_cache_secs": "300", "socket_timeout_secs": "15",
            "store_artifacts_locally": "on", "package_type": "generic",
            f"{prefix}-TOTAL_FORMS": str(len(members)), f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    for index, key in enumerate(members):
        data.update({f"{prefix}-{index}-member": ids[key], f"{prefix}-{index}-position": str(index)})
    data.update({k: (ids[v] if k == "default_deployment_repo" else v) for k, v in fields.items()})
    return browser.post(browser.base + url, data=data, allow_redirects=False)


ADD = "/admin/repositories/repository/add/"


def test_pages_load(browser):
    for url in ("/admin/repositories/repository/", ADD, "/admin/packages/artifact/", "/admin/packages/blob/"):
        assert browser.get(browser.base + url).status_code == 200, url


def test_create_a_remote_and_a_virtual(browser, server, admin_http, http):
    created = submit(browser, ADD, {"key": "files-remote", "rclass": "remote", "url": "http://127.0.0.1:9/",
                                    "username": "robot", "password": "upstream-secret"})
    assert created.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', created.text)
    remote = Repository.objects.get(key="files-remote")
    assert remote.password == "upstream-secret"
    change = browser.get(f"{server.url}/admin/repositories/repository/{remote.pk}/change/")
    assert change.status_code == 200 and "upstream-secret" not in change.text

    virtual = submit(browser, ADD, {"key": "files", "rclass": "virtual", "default_deployment_repo": "generic-local"},
                     members=["generic-local", "files-remote"])
    assert virtual.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', virtual.text)
    config = http.get(f"{server.url}/api/repositories/files").json()
    assert config["repositories"] == ["generic-local", "files-remote"]
    assert config["defaultDeploymentRepo"] == "generic-local"
    put = admin_http.put(f"{server.url}/files/via-admin.txt", data=b"x")
    assert put.status_code == 201 and put.json()["repo"] == "generic-local"


INVALID = [
    ({"key": "no-url", "rclass": "remote", "url": ""}, [], "a remote repository needs an upstream url"),
    ({"key": "mixed", "rclass": "virtual"}, ["pypi-local"], "&#x27;pypi-local&#x27; is a pypi repository"),
    ({"key": "elsewhere", "rclass": "virtual", "default_deployment_repo": "generic-local"}, [],
     "must be one of the virtual repository&#x27;s members"),
    ({"key": "local-deploys", "rclass": "local", "default_deployment_repo": "generic-local"}, [],
     "only virtual repositories deploy elsewhere"),
    ({"key": "api", "rclass": "local"}, [], "reserved"),
]


def test_invalid_configurations_are_refused(browser):
    for fields, members, message in INVALID:
        response = submit(browser, ADD, fields, members)
        assert response.status_code == 200 and message in response.text, fields
        assert not Repository.objects.filter(key=fields["key"]).exists()
        assert not VirtualMember.objects.filter(virtual__key=fields["key"]).exists()


def test_the_class_cannot_change(browser):
    local = Repository.objects.get(key="generic-local")
    response = submit(browser, f"/admin/repositories/repository/{local.pk}/change/",
                      {"key": "generic-local", "rclass": "remote", "url": "http://127.0.0.1:9/"})
    assert response.status_code == 200 and "the class of a repository cannot change" in response.text
    assert Repository.objects.get(pk=local.pk).rclass == "local"
