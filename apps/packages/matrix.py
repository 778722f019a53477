"""Artifactory property syntax: matrix parameters on deploy paths and ?properties= values."""

import re

_SPLIT_UNESCAPED = r"(?<!\\)"


def _split(text: str, separators: str) -> list[str]:
    return re.split(_SPLIT_UNESCAPED + f"[{re.escape(separators)}]", text)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_properties(text: str, separators: str = ";|") -> dict[str, list[str]]:
    """'a=1,2;b=3' -> {'a': ['1', '2'], 'b': ['3']}; '\\' escapes ',', ';', '|', '=' and itself.

    Raises ValueError for an empty key.
    """
    result: dict[str, list[str]] = {}
    for item in _split(text, separators):
        if not item:
            continue
        key, _, values = item.partition("=") if "\\=" not in item else _partition_escaped(item)
        key = _unescape(key).strip()
        if not key:
            raise ValueError(f"property without a key in {text!r}")
        result.setdefault(key, []).extend(_unescape(v) for v in _split(values, ","))
    return result


def _partition_escaped(item: str) -> tuple[str, str, str]:
    parts = _split(item, "=")
    return parts[0], "=", "=".join(parts[1:])


def split_matrix(path: str) -> tuple[str, dict[str, list[str]]]:
    """'a/b.bin;k=v1,v2;x=y' -> ('a/b.bin', {'k': ['v1', 'v2'], 'x': ['y']})."""
    head, sep, params = path.partition(";")
    return head, parse_properties(params, ";") if sep else {}
