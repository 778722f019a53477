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


def path_allowed(path: str, includes: str, excludes: str) -> bool:
    """True when ``path`` matches an include pattern and no exclude pattern.

    An empty include list means everything; the empty path (a repository root) is always allowed.
    """
    if not path:
        return True
    include, exclude = _matchers(includes, excludes)
    return bool(include.match(path)) and not (exclude and exclude.match(path))


@lru_cache(maxsize=4096)
def _matchers(includes: str, excludes: str):
    # Asked on every request with the same few pattern texts: split and compiled once each.
    return _compiled(split_patterns(includes) or ("**",)), _compiled(split_patterns(excludes))
