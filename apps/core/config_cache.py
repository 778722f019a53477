"""A per-process cache of what nearly every request reads and an administrator rarely changes:
repositories, the permission rules of a user (and the security settings they depend on), the
users behind registry tokens and remembered passwords.

Whatever process on whatever node changes such a row also gives the one ConfigGeneration row a
new random value, in the same transaction (``config_changed()``, called by the receivers of the
apps that own the rows, see ``watch()``, and by ConfigQuerySet's bulk writes). Entries belong to
the generation they were filled under; a request learns the current one from the database and
is answered only if what it took from the cache belongs to it. So a change is seen by the very
next request everywhere, and nothing is cached outside a request (Celery tasks, commands).

Learning the generation costs a round trip, so a request reading (GET, HEAD, OPTIONS) does not
wait for it: it uses the cache as it stands, and the generation is read along with its first
hot-path query (``apps.core.db.fetch_one``), or by one query when its view is done.
``ConfigurationCheckMiddleware`` lets the response go only if the entries the request used
belong to that generation; if not, it discards the response and runs the request again on a
fresh cache. A run that learns of a change midway stops there (ConfigurationChanged), and one
about to ask an upstream learns the generation first (``confirm()``), so that an outdated
configuration never reaches outside the process (a repository just taken offline is not
asked upstream). Any other method reads the generation before its view runs, so a write never
acts on an outdated configuration.

Values are shared between threads: cache immutable things, or copy on the way out.
"""

import copy
import itertools
import random
import threading

from django.core.signals import request_finished, request_started
from django.db import models
from django.db.models import signals
from django.db.models.base import ModelState

from .db import fetch_one, read_along
from .errors import ApiError
from .models import ConfigGeneration

_SQL_GENERATION = f"SELECT value FROM {ConfigGeneration._meta.db_table} WHERE id = 1"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_UNKNOWN = object()
_request = threading.local()
_lock = threading.Lock()
_entries: dict = {}
# The generation the entries belong to (at first none), and the order in which it was read
# from the database: a request that read an older generation never takes the cache back to it.
_filled_under: object = _UNKNOWN
_filled_reading = -1
_readings = itertools.count()


class ConfigurationChanged(ApiError):
    """The configuration changed since the cache entries this request used: the request stops
    and ConfigurationCheckMiddleware runs it again (no client sees this answer)."""

    status = 503

    def __init__(self):
        super().__init__("the configuration changed during the request; try again")


def confirm() -> None:
    """Before a request acts outside the process (asks an upstream): make sure the
    configuration it used is current. Raises ConfigurationChanged."""
    state = getattr(_request, "state", None)
    if state is not None:
        if state.generation is _UNKNOWN:
            _read_generation(state)
        _stop_if_outdated(state)


def cached(key, load):
    """``load()``, remembered under ``key`` until configuration changes."""
    state = getattr(_request, "state", None)
    if state is None:
        return load()
    state.consulted = True
    with _lock:
        _adopt(state)
        filled_under = _filled_under
        usable = (filled_under is not _UNKNOWN and state.generation in (_UNKNOWN, filled_under)
                  and state.used in (_UNKNOWN, filled_under))
        if usable and key in _entries:
            state.used = filled_under
            return _entries[key]
    value = load()  # read now: as current as the database, whatever the cache holds
    with _lock:
        # Kept only if nothing was learnt meanwhile: an entry filled under a generation was
        # read after that generation was (a value read earlier could be older than it).
        if usable and _filled_under is filled_under and state.generation in (_UNKNOWN, filled_under):
            _entries.setdefault(key, value)
    return value


def cached_rows(key, load):
    """Like cached() for a model instance or a list of them (or None): every caller gets its
    own copies, so that nothing a request sets on an instance reaches another request."""
    value = cached(key, load)
    return [_copy(row) for row in value] if isinstance(value, list) else _copy(value)


def _copy(instance):
    """A new instance with the same values and a state of its own (related rows copied too);
    the cached instance only ever holds what it was read with."""
    if instance is None:
        return None
    twin = instance.__class__.__new__(instance.__class__)
    twin.__dict__.update(instance.__dict__)
    twin._state = state = ModelState()
    state.adding, state.db = False, instance._state.db
    state.fields_cache = {name: _copy(related) for name, related in instance._state.fields_cache.items()}
    return twin


def config_changed(**_signal_arguments) -> None:
    """Invalidate every process's cache when the current transaction commits (a receiver for
    model and m2m signals, or called directly after bulk writes that send none)."""
    value = random.getrandbits(62)
    if not ConfigGeneration.objects.filter(pk=1).update(value=value):
        ConfigGeneration.objects.update_or_create(pk=1, defaults={"value": value})


_UNCHANGED = "_config_cache_unchanged"


def watch(*models, ignoring: frozenset[str] = frozenset()) -> None:
    """Call config_changed() whenever a row of one of ``models`` is saved or deleted, and when
    the rows of a many-to-many relation (pass its ``through`` model) are added or removed. A
    save of nothing but fields in ``ignoring`` (its ``update_fields``) changes nothing cached,
    nor does a save of a row as it already is (a directory login refreshes the account every
    time, mostly with what it holds)."""

    def saving(sender, instance, update_fields=None, **_):
        setattr(instance, _UNCHANGED, update_fields is None and not instance._state.adding
                and _row_holds(sender, instance, ignoring))

    def saved(instance, update_fields=None, **_):
        if getattr(instance, _UNCHANGED, False):
            return
        if update_fields is None or not set(update_fields) <= ignoring:
            config_changed()

    for model in models:
        uid = f"config_cache.{model._meta.label}"
        signals.pre_save.connect(saving, sender=model, weak=False, dispatch_uid=uid + ".saving")
        signals.post_save.connect(saved, sender=model, weak=False, dispatch_uid=uid + ".save")
        signals.post_delete.connect(config_changed, sender=model, dispatch_uid=uid + ".delete")
        signals.m2m_changed.connect(_m2m_changed, sender=model, dispatch_uid=uid + ".m2m")


def _row_holds(model, instance, ignoring: frozenset[str]) -> bool:
    """Whether ``instance``'s row holds its values already (the ``ignoring`` fields aside)."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname not in ignoring]
    row = model._base_manager.using(instance._state.db).filter(pk=instance.pk).values_list(*names).first()
    return row == tuple(getattr(instance, name) for name in names)


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


class _RequestState:
    """What the current request knows: the generation it read from the database (and when,
    in _readings' order), whether it consulted the cache, and the generation of the entries
    it took from it."""

    def __init__(self, generation=_UNKNOWN, reading=-1):
        self.generation, self.reading, self.asking = generation, reading, -1
        self.consulted, self.used = False, _UNKNOWN


def _adopt(state: _RequestState) -> None:
    """Under _lock: a request that read a newer generation than the entries belong to starts
    the cache afresh under it."""
    global _filled_under, _filled_reading
    if state.generation is not _UNKNOWN and state.generation != _filled_under and state.reading > _filled_reading:
        _entries.clear()
        _filled_under, _filled_reading = state.generation, state.reading


def _read_generation(state: _RequestState) -> None:
    reading = next(_readings)  # numbered when asked: an answer arriving late is no newer
    row = fetch_one(_SQL_GENERATION, [])
    _received(row[0] if row else None, reading, state)


def _received(value, reading: int, state: _RequestState) -> None:
    with _lock:
        state.generation, state.reading = value, reading
        _adopt(state)


def _stop_if_outdated(state: _RequestState) -> None:
    if state.used is not _UNKNOWN and state.used != state.generation:
        raise ConfigurationChanged()


# fetch_one reads the generation along with a request's first query, when it is not known yet.
def _wanted() -> bool:
    state = getattr(_request, "state", None)
    if state is None or state.generation is not _UNKNOWN:
        return False
    state.asking = next(_readings)
    return True


def _received_along(value) -> None:
    state = _request.state
    _received(value, state.asking, state)
    _stop_if_outdated(state)


def _current(state: _RequestState) -> bool:
    """Whether what the request took from the cache belongs to the current generation. A
    request that consulted the cache learns the generation in any case, so that the cache is
    filled under it for the requests that follow."""
    if not state.consulted:
        return True
    if state.generation is _UNKNOWN:
        _read_generation(state)
    return state.used is _UNKNOWN or state.generation == state.used


class ConfigurationCheckMiddleware:
    """Lets a reading request's response go only once the configuration it used is known to
    be current (else runs the request again); has any other request read the generation first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = getattr(_request, "state", None)
        if state is None:
            return self.get_response(request)
        if request.method not in _SAFE_METHODS:
            _read_generation(state)
            return self.get_response(request)
        # The second run starts from the request as it came: nothing the first one noted on
        # it (the user, with the rules it was given) may outlive that run.
        pristine = copy.copy(request)
        response = self.get_response(request)
        if _current(state):
            return response
        response.close()  # ends the request's state (request_finished)
        _request.state = _RequestState(state.generation, state.reading)
        return self.get_response(pristine)


def _request_began(**_):
    _request.state = _RequestState()


def _request_ended(**_):
    _request.state = None


read_along(_SQL_GENERATION, _wanted, _received_along)
request_started.connect(_request_began, dispatch_uid="config_cache.request_started")
request_finished.connect(_request_ended, dispatch_uid="config_cache.request_finished")
