"""Kept: content-addressed values loaded once per process, bounded in count and size."""

from apps.core.kept import Kept


def test_loaded_once_small_values_only_and_emptied_when_full():
    loads = []

    def load(value):
        def inner():
            loads.append(value)
            return value
        return inner

    kept = Kept(count=2, largest=4)
    assert kept.get("a", load(b"aa")) == b"aa"
    assert kept.get("a", load(b"other")) == b"aa"  # same key, same content: not loaded again
    assert kept.get("none", load(None)) is None and kept.get("none", load(b"x")) is None
    assert kept.get("big", load(b"12345")) == b"12345"
    assert kept.get("big", load(b"12345")) == b"12345"  # too large to keep: loaded each time
    assert loads == [b"aa", None, b"12345", b"12345"]
    assert kept.get("c", load(b"c")) == b"c"  # a third small value: the full set went first
    assert kept.get("a", load(b"aa")) == b"aa"
    assert loads[-2:] == [b"c", b"aa"]
