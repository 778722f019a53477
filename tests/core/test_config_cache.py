"""The per-process configuration cache: a change made anywhere is seen by the next request of
every server process, never later."""

import pytest
from django.contrib.auth import get_user_model
from django.core.handlers.exception import convert_exception_to_response
from django.core.signals import request_started
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.config_cache import ConfigurationCheckMiddleware, cached, config_changed, confirm
from apps.core.db import fetch_one
from apps.core.models import ConfigGeneration
from apps.repositories.models import Repository
from apps.repositories.services import repository_update
from tests.factories import grant, make_repository, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# More requests than the live server has workers x threads, so that every process answers some.
ROUNDS = 24


class Loads:
    def __init__(self):
        self.count = 0

    def __call__(self):
        self.count += 1
        return self.count


def _request(*calls, method="GET"):
    """Runs ``calls`` as the view of one request, through ConfigurationCheckMiddleware as the
    server does: what the answered run returned, and how many times the view ran."""
    runs = []

    def view(request):
        runs.append([])
        runs[-1].extend(call() for call in calls)
        return HttpResponse()

    request_started.send(sender=None)
    # As the server's stack does, an exception becomes a response before the middleware sees it.
    ConfigurationCheckMiddleware(convert_exception_to_response(view))(RequestFactory().generic(method, "/")).close()
    return runs[-1], len(runs)


def test_cached_in_requests_until_configuration_changes_and_never_outside_one():
    load = Loads()
    k = lambda: cached("k", load)  # noqa: E731
    _request(k)
    _request(k)  # whatever the process held before, the cache is current from here
    (value,), runs = _request(k)
    assert runs == 1 and _request(k, k) == ([value, value], 1)
    assert [cached("k", load), cached("k", load)] == [value + 1, value + 2]  # outside a request: always loaded

    # A change: the next reading request took the old entry, learnt the new generation when
    # its view was done, and ran again on a fresh cache. The one after finds it filled.
    config_changed()
    assert _request(k) == ([value + 3], 2)
    assert _request(k) == ([value + 3], 1)
    # A write reads the generation first and runs once.
    config_changed()
    assert _request(k, method="POST") == ([value + 4], 1)
    # A request whose first query reads the generation along (fetch_one) learns of the change
    # before it touches the cache: one statement, one run.
    config_changed()
    with CaptureQueriesContext(connection) as captured:
        assert _request(lambda: fetch_one("SELECT 1", []), k) == ([(1,), value + 5], 1)
    assert len(captured.captured_queries) == 1

    someone = make_user("someone")  # a user saved is a configuration change
    assert _request(k, k)[0] == [value + 6] * 2
    someone.save(update_fields=["last_login"])  # as every login does: not a change
    assert _request(k) == ([value + 6], 1)
    make_repository("cfg-local")
    assert _request(k)[0] == [value + 7]
    Repository.objects.filter(key="cfg-local").update(offline=True)  # a bulk write sends no signal
    assert _request(k)[0] == [value + 8]

    # A run about to act outside the process (ask an upstream) learns of a change first, and
    # stops there: only the run on the current configuration got to act.
    acted = []

    def ask_upstream():
        confirm()
        acted.append(cached("k", load))
        return "asked"

    config_changed()
    assert _request(k, ask_upstream) == ([value + 9, "asked"], 2)
    assert acted == [value + 9]


def _statuses(session, url, rounds=ROUNDS):
    # A new connection each time: a kept-alive one would stay with the process that took it.
    return {session.get(url, headers={"Connection": "close"}).status_code for _ in range(rounds)}


def test_permission_user_and_repository_changes_reach_every_process_at_once(server, http):
    make_repository("cfg-local", package_type="generic")
    make_user("carol", "carol-pass")
    grant("carol-read", repositories=["cfg-local"], users={"carol": ["read", "deploy"]})
    admin = ("admin", "password")
    assert http.put(f"{server.url}/cfg-local/a/file.txt", data=b"x", auth=admin).status_code == 201
    url = f"{server.url}/cfg-local/a/file.txt"
    http.auth = ("carol", "carol-pass")
    assert _statuses(http, url) == {200}

    # The grant narrowed to another folder: refused on the next request, by every process (a
    # refused read of a file looks like a missing one).
    grant("carol-read", repositories=["cfg-local"], users={"carol": ["read"]}, include=["b/**"])
    assert _statuses(http, url) == {404}
    grant("carol-read", repositories=["cfg-local"], users={"carol": ["read"]})
    assert _statuses(http, url) == {200}

    # The repository's own pattern excludes the folder.
    repository_update(Repository.objects.get(key="cfg-local"), excludes_pattern="a/**")
    assert _statuses(http, url) == {404}
    repository_update(Repository.objects.get(key="cfg-local"), excludes_pattern="")
    assert _statuses(http, url) == {200}

    # A deleted repository is gone for everybody.
    http.auth = admin
    assert http.put(f"{server.url}/cfg-local/a/file.txt", data=b"x").status_code == 201
    assert _statuses(http, url) == {200}
    Repository.objects.get(key="cfg-local").delete()
    assert _statuses(http, url) == {404}

    # A disabled account stops working at once, remembered credentials or not (a few tries
    # only: failed logins lock the address out).
    make_repository("cfg-local", package_type="generic")
    grant("carol-read", repositories=["cfg-local"], users={"carol": ["read", "deploy"]})
    http.auth = ("carol", "carol-pass")
    assert _statuses(http, f"{server.url}/api/storage/cfg-local/") == {200}
    carol = get_user_model().objects.get(username="carol")
    carol.is_active = False
    carol.save()
    assert _statuses(http, f"{server.url}/api/storage/cfg-local/", rounds=3) == {401}


def test_a_request_run_again_starts_afresh_with_a_browser_session_too(bootstrapped):
    """A browser's session user is remembered on the request, and the rules it was given on
    the user: the run that follows a change must not inherit them from the discarded one."""
    make_repository("cfg-local", package_type="generic")
    carol = make_user("carol", "carol-pass")
    grant("carol-read", repositories=["cfg-local"], users={"carol": ["read"]})
    admin = Client()
    assert admin.put("/cfg-local/a/file.txt", data=b"x", content_type="application/octet-stream",
                     HTTP_AUTHORIZATION="Basic YWRtaW46cGFzc3dvcmQ=").status_code == 201
    browser = Client()
    browser.force_login(carol, backend="django.contrib.auth.backends.ModelBackend")
    url = "/api/storage/cfg-local/a/file.txt"
    for _ in range(3):  # the process learns the generation, fills its cache, then uses it
        assert browser.get(url).status_code == 200
    grant("carol-read", repositories=["cfg-local"], users={"carol": ["read"]}, include=["b/**"])
    assert browser.get(url).status_code == 404


def test_a_save_that_changes_nothing_keeps_every_process_cache():
    """A directory login saves the whole account each time, mostly with what it holds: only a
    save that changes a column tells every process to read its configuration again."""
    dora = make_user("dora", "dora-pass")
    generation = ConfigGeneration.objects.get(pk=1).value
    dora = get_user_model().objects.get(pk=dora.pk)
    dora.save()
    dora.last_login = timezone.now()  # a login is no change
    dora.save()
    assert ConfigGeneration.objects.get(pk=1).value == generation
    dora.email = "dora@example.org"
    dora.save()
    assert ConfigGeneration.objects.get(pk=1).value != generation
