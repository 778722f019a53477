import pytest

from apps.core.paths import InvalidPath, clean_path, parent_folders


@pytest.mark.parametrize("raw", [
    "..", "a/../b", "../etc/passwd", "a/./b", "./a", "a//b", "/abs", "a\\b", "..\\x",
    "a/%2e%2e/b", "%2e%2e/x", "a/%252e%252e/b", "a\x00b", "a/b\x00", "C:/windows", "a\nb",
])
def test_traversal_in_any_spelling_is_refused(raw):
    with pytest.raises(InvalidPath):
        clean_path(raw)


@pytest.mark.parametrize("raw,expected", [
    ("a/b/c.txt", "a/b/c.txt"),
    ("folder/", "folder"),
    ("name with spaces.tar.gz", "name with spaces.tar.gz"),
    ("a/..b/c..", "a/..b/c.."),
    ("pkg-1.0+local.whl", "pkg-1.0+local.whl"),
])
def test_ordinary_paths_pass(raw, expected):
    assert clean_path(raw) == expected


def test_empty_path_only_where_allowed():
    assert clean_path("", allow_empty=True) == ""
    with pytest.raises(InvalidPath):
        clean_path("")


def test_overlong_path_is_refused():
    with pytest.raises(InvalidPath):
        clean_path("a/" * 600)


def test_parent_folders():
    assert parent_folders("a/b/c.txt") == ["a", "a/b"]
    assert parent_folders("c.txt") == []
