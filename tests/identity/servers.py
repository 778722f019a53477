"""Extra live servers with their own settings (directory, SSO, lock-out policy, production).

They share one PostgreSQL with everything else, so they hold no idle connections and run
fewer threads than the suite's main server."""

from tests.livestack import LiveServer

_LEAN = {"REPOMGR_DB_CONN_MAX_AGE": "0", "REPOMGR_THREADS": "4"}


def extra_server(env: dict | None = None, *, log_name: str) -> LiveServer:
    """A LiveServer (not started yet) with ``env`` on top of the lean defaults."""
    return LiveServer(env={**_LEAN, **(env or {})}, log_name=log_name)
