"""A per-process cache of what nearly every request reads and an administrator rarely changes:
repositories, the permission rules of a user (and the security settings they depend on), the
users behind registry tokens and remembered passwords.

Whatever process on whatever node changes such a row also gives the one ConfigGeneration row a
new random value, in the same transaction (``config_changed()``, called by the receivers of the
apps that own the rows, see ``watch()``, and by ConfigQuerySet's bulk writes). A request reads
that value on its first use of the cache and drops everything cached when it differs from the
value the cache was filled under.
A change is therefore seen by the very next request everywhere, for one small query per request
instead of a query per lookup. Outside a request (Celery tasks, commands) nothing is cached.

Values are shared between threads: cache immutable things, or copy on the way out.
"""

import random
import threading

from django.core.signals import request_finished, request_started
from django.db import models
from django.db.models import signals

from .db import fetch_one
from .models import ConfigGeneration

_SQL_GENERATION = f"SELECT value FROM {ConfigGeneration._meta.db_table} WHERE id = 1"

_request = threading.local()
_lock = threading.Lock()
_entries: dict = {}
_filled_under: object = object()  # the generation the entries belong to (at first none)


def cached(key, load):
    """``load()``, remembered under ``key`` until configuration changes."""
    global _filled_under
    generation = _request_generation()
    if generation is _NOT_IN_REQUEST:
        return load()
    with _lock:
        if _filled_under != generation:
            _entries.clear()
            _filled_under = generation
        elif key in _entries:
            return _entries[key]
    value = load()
    with _lock:
        if _filled_under == generation:
            _entries[key] = value
    return value


def cached_rows(key, load):
    """Like cached() for a model instance or a list of them (or None): every caller gets its
    own copies, so that nothing a request sets on an instance reaches another request."""
    value = cached(key, load)
    return [_copy(row) for row in value] if isinstance(value, list) else _copy(value)


def _copy(instance):
    if instance is None:
        return None
    fields = instance._meta.concrete_fields
    copy = type(instance).from_db(instance._state.db, [field.attname for field in fields],
                                  [getattr(instance, field.attname) for field in fields])
    copy._state.fields_cache = {name: _copy(related) for name, related in instance._state.fields_cache.items()}
    return copy


def config_changed(**_signal_arguments) -> None:
    """Invalidate every process's cache when the current transaction commits (a receiver for
    model and m2m signals, or called directly after bulk writes that send none)."""
    value = random.getrandbits(62)
    if not ConfigGeneration.objects.filter(pk=1).update(value=value):
        ConfigGeneration.objects.update_or_create(pk=1, defaults={"value": value})


def watch(*models, ignoring: frozenset[str] = frozenset()) -> None:
    """Call config_changed() whenever a row of one of ``models`` is saved or deleted, and when
    the rows of a many-to-many relation (pass its ``through`` model) are added or removed. A
    save of nothing but fields in ``ignoring`` (its ``update_fields``) changes nothing cached."""

    def saved(update_fields=None, **_):
        if update_fields is None or not set(update_fields) <= ignoring:
            config_changed()

    for model in models:
        uid = f"config_cache.{model._meta.label}"
        signals.post_save.connect(saved, sender=model, weak=False, dispatch_uid=uid + ".save")
        signals.post_delete.connect(config_changed, sender=model, dispatch_uid=uid + ".delete")
        signals.m2m_changed.connect(_m2m_changed, sender=model, dispatch_uid=uid + ".m2m")


class ConfigQuerySet(models.QuerySet):
    """The manager of a watched model: writes that send no per-row signals (update, and so
    bulk_update; bulk_create) invalidate the cache themselves."""

    def update(self, **kwargs):
        count = super().update(**kwargs)
        config_changed()
        return count

    def bulk_create(self, *args, **kwargs):
        created = super().bulk_create(*args, **kwargs)
        config_changed()
        return created


def _m2m_changed(action: str, **_):
    if action in ("post_add", "post_remove", "post_clear"):
        config_changed()


_NOT_IN_REQUEST = object()


def _request_generation():
    if not getattr(_request, "active", False):
        return _NOT_IN_REQUEST
    if _request.generation is _NOT_IN_REQUEST:
        row = fetch_one(_SQL_GENERATION, [])
        _request.generation = row[0] if row else None
    return _request.generation


def _request_began(**_):
    _request.active = True
    _request.generation = _NOT_IN_REQUEST


def _request_ended(**_):
    _request.active = False


request_started.connect(_request_began, dispatch_uid="config_cache.request_started")
request_finished.connect(_request_ended, dispatch_uid="config_cache.request_finished")
