"""The per-process configuration cache: a change made anywhere is seen by the next request of
every server process, never later."""

import pytest
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started

from apps.core.config_cache import cached, config_changed
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


def _request(*calls):
    request_started.send(sender=None)
    try:
        return [call() for call in calls]
    finally:
        request_finished.send(sender=None)


def test_cached_in_requests_until_configuration_changes_and_never_outside_one():
    load = Loads()
    assert _request(lambda: cached("k", load), lambda: cached("k", load)) == [1, 1]
    assert _request(lambda: cached("k", load)) == [1]
    assert [cached("k", load), cached("k", load)] == [2, 3]  # outside a request: always loaded
    config_changed()
    assert _request(lambda: cached("k", load)) == [4]
    someone = make_user("someone")  # a user saved is a configuration change
    assert _request(lambda: cached("k", load), lambda: cached("k", load)) == [5, 5]
    someone.save(update_fields=["last_login"])  # as every login does: not a change
    assert _request(lambda: cached("k", load)) == [5]
    make_repository("cfg-local")
    assert _request(lambda: cached("k", load)) == [6]
    Repository.objects.filter(key="cfg-local").update(offline=True)  # a bulk write sends no signal
    assert _request(lambda: cached("k", load)) == [7]


def _statuses(session, url, rounds=ROUNDS):
    return {session.get(url).status_code for _ in range(rounds)}


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
