"""Who is acting and from where, for the current request: set by middleware, read by audit
records and the login lock-out."""

import ipaddress
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings


SYSTEM = "(system)"


@dataclass
class RequestContext:
    client_address: str | None = None
    request: object = None

    @property
    def actor(self) -> str:
        """Whoever the request turned out to be. Read late on purpose: DRF authenticates inside
        the view (whichever authentication class a protocol uses) and then sets the user on
        the Django request this holds."""
        if self.request is None:
            return SYSTEM  # a scheduled job, a management command
        user = getattr(self.request, "user", None)
        return user.get_username() if user is not None and user.is_authenticated else ""


_current: ContextVar[RequestContext | None] = ContextVar("repomgr_request_context", default=None)


def current() -> RequestContext:
    return _current.get() or RequestContext()


def begin(request):
    return _current.set(RequestContext(client_address=client_address(request), request=request))


def end(token) -> None:
    _current.reset(token)


def _trusted(address: str) -> bool:
    if not settings.TRUSTED_PROXY_NETWORKS:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXY_NETWORKS)


def client_address(request) -> str | None:
    """The client's IP address. X-Forwarded-For is believed only when the peer is a trusted
    proxy (REPOMGR_TRUSTED_PROXIES), and then only up to the first hop we do not trust:
    anything further left was written by the client and could be forged."""
    meta = getattr(request, "META", {})
    address = meta.get("REMOTE_ADDR") or None
    if address is None or not _trusted(address):
        return address
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address
        address = hop
        if not _trusted(hop):
            break
    return address
