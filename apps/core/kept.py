"""Small values named by their content (a digest), kept in a process's memory: what a hot path
would otherwise read from the blob store on every request. Content-addressed, so never stale."""

_MISSING = object()


class Kept:
    """At most ``count`` values of at most ``largest`` bytes each; when full, all go at once."""

    def __init__(self, count: int, largest: int):
        self.count, self.largest = count, largest
        self._values: dict = {}

    def get(self, key, load):
        """The value kept under ``key``, else ``load()`` (kept if small enough)."""
        value = self._values.get(key, _MISSING)
        if value is _MISSING:
            value = load()
            if value is None or len(value) <= self.largest:
                if len(self._values) >= self.count:
                    self._values.clear()
                self._values[key] = value
        return value
