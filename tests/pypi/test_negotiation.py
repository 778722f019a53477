"""PEP 691 content negotiation, as a pure function."""

import pytest

from apps.pypi.negotiation import HTML_V1, JSON_V1, TEXT_HTML, accepts_gzip, choose_content_type

PIP = f"{JSON_V1}, {HTML_V1}; q=0.1, text/html; q=0.01"


@pytest.mark.parametrize("accept, fmt, expected", [
    (None, None, TEXT_HTML),
    ("*/*", None, TEXT_HTML),
    (PIP, None, JSON_V1),
    (f"{JSON_V1};q=0.2, {HTML_V1}", None, HTML_V1),
    ("text/html", None, TEXT_HTML),
    ("application/vnd.pypi.simple.latest+json", None, JSON_V1),
    ("application/vnd.pypi.simple.latest+html", None, HTML_V1),
    ("application/json", None, None),
    ("application/vnd.pypi.simple.v2+json", None, None),
    (f"{JSON_V1};q=0", None, None),
    ("text/*", None, TEXT_HTML),
    ("application/*", None, HTML_V1),
    ("application/json, */*;q=0.5", None, TEXT_HTML),
    ("text/html", JSON_V1, JSON_V1),
    (PIP, "text/html", TEXT_HTML),
    (PIP, "application/xml", None),
    (f"{JSON_V1};q=bogus, {HTML_V1};q=0.5", None, HTML_V1),
])
def test_choose_content_type(accept, fmt, expected):
    assert choose_content_type(accept, fmt) == expected


@pytest.mark.parametrize("accept_encoding, expected", [
    ("gzip", True),
    ("gzip, deflate, br", True),  # requests, pip
    ("GZIP;q=0.5", True),
    ("", False),
    ("identity", False),
    ("br", False),
    ("gzip;q=0, identity", False),  # RFC 9110 §12.5.3: q=0 means "not acceptable"
    ("gzip; q=0.000", False),
    ("x-gzip-custom", False),
])
def test_accepts_gzip(accept_encoding, expected):
    assert accepts_gzip(accept_encoding) is expected
