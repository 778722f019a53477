"""Ant-style include/exclude patterns ('**/*.whl', 'org/**'), as Artifactory writes them."""

from functools import lru_cache

from wcmatch import glob

_FLAGS = glob.GLOBSTAR | glob.DOTGLOB


def split_patterns(text: str) -> tuple[str, ...]:
    """'a/**, b/*' -> ('a/**', 'b/*'); commas and newlines both separate."""
    return tuple(p.strip() for p in text.replace("\n", ",").split(",") if p.strip())


@lru_cache(maxsize=4096)
def _compiled(patterns: tuple[str, ...]):
    return glob.compile(list(patterns), flags=_FLAGS) if patterns else None


def matches_any(path: str, patterns: tuple[str, ...]) -> bool:
    matcher = _compiled(patterns)
    return bool(matcher and matcher.match(path))


def path_allowed(path: str, includes: str, excludes: str) -> bool:
    """True when ``path`` matches an include pattern and no exclude pattern.

    An empty include list means everything; the empty path (a repository root) is always allowed.
    """
    if not path:
        return True
    include = split_patterns(includes) or ("**",)
    return matches_any(path, include) and not matches_any(path, split_patterns(excludes))
