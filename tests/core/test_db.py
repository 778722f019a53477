"""fetch_one / model_row: the same answers as the ORM, prepared once per PostgreSQL session."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.core.db import fetch_one, model_row

pytestmark = pytest.mark.django_db(transaction=True)

SQL = "SELECT username, is_active FROM auth_user WHERE username = %s AND username LIKE 'f%%'"


def _prepared_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'repomgr%%'")
        return cursor.fetchone()[0]


def test_fetch_one_answers_like_the_orm_and_model_row_builds_the_instance():
    user = get_user_model().objects.create_user("fred", password="x", is_active=True)
    assert fetch_one(SQL, ["fred"]) == ("fred", True)
    assert fetch_one(SQL, ["nobody"]) is None
    found = model_row(get_user_model(), "username = %s AND is_active = %s", ["fred", True])
    assert found == user
    assert (found.username, found.is_active, found.date_joined) == (user.username, True, user.date_joined)
    assert found.check_password("x")
    assert model_row(get_user_model(), "username = %s AND is_active = %s", ["fred", False]) is None


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_statement_is_prepared_once_per_session_and_again_after_a_reconnect():
    get_user_model().objects.create_user("fred", password="x")
    connection.close()
    assert _prepared_count() == 0
    for _ in range(3):
        assert fetch_one(SQL, ["fred"]) == ("fred", True)
    assert _prepared_count() == 1
    # A rolled-back transaction does not take the statement with it.
    with pytest.raises(RuntimeError), transaction.atomic():
        assert fetch_one(SQL, ["fred"]) == ("fred", True)
        raise RuntimeError
    assert fetch_one(SQL, ["fred"]) == ("fred", True)
    assert _prepared_count() == 1
    connection.close()  # a new session knows no statements: prepared again on first use
    assert fetch_one(SQL, ["fred"]) == ("fred", True)
    assert _prepared_count() == 1


def test_a_value_read_along_leaves_the_answers_as_they_were():
    """What config_cache reads along with a request's first query (read_along): the same rows,
    None when nothing matches, in one statement; a statement that is not a SELECT alone."""
    from apps.core import db

    get_user_model().objects.create_user("fred", password="x", is_active=True)
    received = []
    saved = db._along
    db.read_along("SELECT 41 + 1", lambda: True, received.append)
    try:
        with CaptureQueriesContext(connection) as captured:
            assert fetch_one(SQL, ["fred"])[1] is True
            assert fetch_one(SQL, ["nobody"]) is None
            assert model_row(get_user_model(), "username = %s", ["fred"]).username == "fred"
        assert received == [42, 42, 42] and len(captured.captured_queries) == 3
        assert fetch_one("UPDATE auth_user SET is_active = %s WHERE username = %s RETURNING username",
                         [False, "fred"]) == ("fred",)
        assert received == [42, 42, 42]
    finally:
        db._along = saved
    assert fetch_one(SQL, ["fred"]) == ("fred", False)


def test_write_row_updates_the_row_read_inserts_when_none_was_read_and_settles_a_race():
    from django.utils import timezone

    from apps.core.db import write_row
    from apps.repositories.models import RemoteDocument
    from tests.factories import make_repository

    repository = make_repository("docs-remote", "remote", url="http://127.0.0.1:9/")
    lookup = {"repository": repository, "key": "page:a"}

    def write(body, read):
        with CaptureQueriesContext(connection) as captured:
            row = write_row(RemoteDocument, lookup, {"body": body, "fetched": timezone.now()}, read)
        return row, [q["sql"].split()[0] for q in captured.captured_queries]

    first, statements = write(b"one", None)  # none read: one INSERT
    assert statements == ["INSERT"] and first.pk
    second, statements = write(b"two", first)  # the row read: one UPDATE of it
    assert statements == ["UPDATE"] and second.pk == first.pk
    # A concurrent writer inserted the row after our read found none: the INSERT clashes and
    # the row is updated in place.
    third, _ = write(b"three", None)
    assert third.pk == first.pk
    assert bytes(RemoteDocument.objects.get(**lookup).body) == b"three"
    # The row read was deleted and written again by someone else: updated, not duplicated.
    RemoteDocument.objects.filter(pk=first.pk).delete()
    other = RemoteDocument.objects.create(**lookup, body=b"theirs", fetched=timezone.now())
    fourth, _ = write(b"four", first)
    assert fourth.pk == other.pk
    assert [bytes(d.body) for d in RemoteDocument.objects.filter(**lookup)] == [b"four"]
