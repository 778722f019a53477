"""Small database helpers shared by the apps, and the SQL of the hottest read paths.

PostgreSQL plans a statement every time it receives it as text; for the registry's manifest
lookup (four tables) planning costs several times the execution. ``fetch_one`` therefore runs
a statement as a prepared one on PostgreSQL: PREPAREd on a connection's first use (in the same
round trip as its first EXECUTE), EXECUTEd after. Prepared statements belong to the session,
outlive rolled-back transactions and die with the connection. Other databases get the text.
"""

import hashlib
import itertools
import re
from functools import lru_cache

from django.db import IntegrityError, connection, transaction

_PARAM = re.compile(r"%s")
_PREPARED_ATTR = "_repomgr_prepared"


def insert(instance) -> bool:
    """Save a new ``instance`` in a single INSERT (under a savepoint only when a caller's
    transaction is open, so a clash does not spoil it); False when a unique constraint says
    the row exists already."""
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                instance.save(force_insert=True)
        else:
            instance.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def write_row(model, lookup: dict, values: dict, read=None):
    """Store ``values`` in the row of ``model`` that ``lookup`` (a unique constraint's fields)
    names, in one statement where the caller's ``read`` of that row tells which: an UPDATE of
    the row read, or an INSERT when it read none. When a concurrent writer got in between (the
    row read is gone, or one was inserted), update_or_create settles it. Returns the instance
    stored; ``values`` must name auto_now fields, which an UPDATE does not set."""
    instance = model(**lookup, **values)
    if read is not None and model._base_manager.filter(pk=read.pk).update(**values):
        instance.pk = read.pk
        return instance
    if read is None and insert(instance):
        return instance
    instance, _ = model._base_manager.update_or_create(**lookup, defaults=values)
    return instance


# A value to be read in the same round trip as the next query of ``fetch_one``, while its
# reader wants it: (its SELECT, wanted(), received(value)). config_cache reads the configuration
# generation this way.
_along: tuple | None = None


def read_along(sql: str, wanted, received) -> None:
    """Have ``fetch_one`` also read the one value ``sql`` selects whenever ``wanted()``, and
    hand it to ``received(value)``."""
    global _along
    _along = (sql, wanted, received)


def fetch_one(sql: str, params: list) -> tuple | None:
    """The first row of ``sql`` (``%s`` placeholders), prepared on PostgreSQL."""
    riding = _riding(sql, _along[0]) if _along is not None and sql != _along[0] else None
    if riding is not None and _along[1]():
        row = _fetch(riding, params)
        _along[2](row[0])
        return None if row[1] is None else row[2:]
    return _fetch(sql, params)


@lru_cache(maxsize=512)
def _riding(sql: str, along: str) -> str | None:
    """``sql`` made to return one row in any case: the value of ``along``, then 1 if ``sql``
    found a row (else NULL), then that row's columns. None when ``sql`` is not a SELECT (an
    UPDATE ... RETURNING cannot be nested)."""
    if sql.lstrip()[:6].upper() != "SELECT":
        return None
    return (f"SELECT ({along}), q_.* FROM (SELECT 1) AS one_ LEFT JOIN"
            f" (SELECT 1 AS found_, inner_.* FROM ({sql}) AS inner_) AS q_ ON TRUE")


def _fetch(sql: str, params: list) -> tuple | None:
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return cursor.fetchone()
        name, prepare, execute = _statement(sql, len(params))
        prepared = _prepared_names()
        cursor.execute(execute if name in prepared else f"{prepare}; {execute}", params)
        prepared.add(name)
        return cursor.fetchone()


@lru_cache(maxsize=512)
def _statement(sql: str, count: int) -> tuple[str, str, str]:
    """(name, PREPARE, EXECUTE) of ``sql`` with ``count`` parameters, worked out once."""
    name = "repomgr_" + hashlib.sha1(sql.encode()).hexdigest()[:16]
    numbers = itertools.count(1)
    prepare = f"PREPARE {name} AS " + _PARAM.sub(lambda _: f"${next(numbers)}", sql)
    return name, prepare, f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"


def _prepared_names() -> set[str]:
    """The statements prepared on the current connection (a reconnect starts a new set)."""
    raw = connection.connection
    state = getattr(connection, _PREPARED_ATTR, None)
    if state is None or state[0] is not raw:
        state = (raw, set())
        setattr(connection, _PREPARED_ATTR, state)
    return state[1]


def model_row(model, where: str, params: list):
    """The first row of ``model``'s table matching the SQL condition ``where``, as a model
    instance, through ``fetch_one``. For lookups on every request of a protocol: a cursor and
    Model.from_db cost a fraction of what the ORM's query compiler spends on each query."""
    row = fetch_one(f"SELECT {model_columns(model)} FROM {connection.ops.quote_name(model._meta.db_table)} "
                    f"WHERE {where} LIMIT 1", params)
    return None if row is None else model_from_row(model, row)


def model_columns(model, alias: str = "") -> str:
    """The quoted columns of ``model``'s concrete fields, in field order (``alias.`` before
    each when given), for a SELECT whose row ``model_from_row`` turns into an instance."""
    _, columns, _ = _row_reading(model, connection)
    return ", ".join(f"{alias}.{column}" for column in columns) if alias else ", ".join(columns)


def model_from_row(model, values, fields: tuple[str, ...] | None = None):
    """A ``model`` instance from the values of ``model_columns(model)`` (or of the named
    ``fields`` only, the others deferred), converted as the ORM converts what this database
    returns."""
    reading, _, converters = _row_reading(model, connection, fields)
    values = list(values)
    for index, column, field_converters in converters:
        for converter in field_converters:
            values[index] = converter(values[index], column, connection)
    return model.from_db(connection.alias, [field.attname for field in reading], values)


_ROW_READING: dict = {}


def _row_reading(model, conn, names: tuple[str, ...] | None = None):
    """``model``'s concrete fields (or those ``names``), their quoted columns, and the
    converters the ORM applies to their values as read from this database (the same ones, in
    the same order, as its query compiler)."""
    reading = _ROW_READING.get((model, conn.vendor, names))
    if reading is None:
        fields = ([model._meta.get_field(name) for name in names] if names
                  else list(model._meta.concrete_fields))
        columns = [conn.ops.quote_name(field.column) for field in fields]
        converters = []
        for index, field in enumerate(fields):
            column = field.cached_col
            found = conn.ops.get_db_converters(column) + column.get_db_converters(conn)
            if found:
                converters.append((index, column, found))
        reading = _ROW_READING[(model, conn.vendor, names)] = (fields, columns, converters)
    return reading
