import pytest

from apps.core.errors import RangeNotSatisfiable
from apps.core.formats import human_size, iso8601
from apps.core.http import parse_range


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-9", (0, 10)),
    ("bytes=10-", (10, 90)),
    ("bytes=-10", (90, 10)),
    ("bytes=95-200", (95, 5)),
    ("bytes=-500", (0, 100)),
    ("bytes=0-0", (0, 1)),
    ("bytes=0-1,5-6", None),
    ("items=0-1", None),
    ("bytes=-", None),
])
def test_parse_range(header, expected):
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=5-2", "bytes=-0"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(RangeNotSatisfiable) as raised:
        parse_range(header, 100)
    assert raised.value.headers["Content-Range"] == "bytes */100"


def test_human_size_and_dates():
    from datetime import datetime, timezone

    assert human_size(512) == "512 bytes"
    assert human_size(3 * 1024**3 + 512 * 1024**2) == "3.50 GB"
    assert iso8601(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.678Z"
