"""PEP 691 content negotiation for the simple API: Accept with q-values, ?format=, 406; and
whether the client takes the stored gzip copy (Accept-Encoding)."""

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
# What the server offers, most preferred first when the client rates several equally:
# HTML first so that browsers and clients sending only */* get the page PEP 503 describes.
OFFERED = (TEXT_HTML, HTML_V1, JSON_V1)
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": JSON_V1,
    "application/vnd.pypi.simple.latest+html": HTML_V1,
}


def choose_content_type(accept: str | None, format_param: str | None = None) -> str | None:
    """The content type to answer with, or None when nothing acceptable is offered (406).

    ``?format=`` names one content type and overrides Accept. Among the types the client
    accepts, the highest q wins; an exact match beats a wildcard match at the same q.
    """
    if format_param:
        # An unencoded '+' in the query string arrives as a space.
        requested = format_param.strip().lower().replace(" ", "+")
        wanted = _ALIASES.get(requested, requested)
        return wanted if wanted in OFFERED else None
    ranges = _parse_accept(accept or "*/*")
    best, best_key = None, None
    for preference, offered in enumerate(OFFERED):
        q, specificity = _quality(offered, ranges)
        if q <= 0:
            continue
        key = (q, specificity, -preference)
        if best_key is None or key > best_key:
            best, best_key = offered, key
    return best


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether Accept-Encoding names gzip with a q above 0 (RFC 9110 §12.5.3: q=0 refuses it)."""
    if "gzip" not in accept_encoding.lower():
        return False
    return any(coding == "gzip" and q > 0 for coding, q in _parse_accept(accept_encoding))


def is_json(content_type: str) -> bool:
    return content_type == JSON_V1


def _parse_accept(header: str) -> list[tuple[str, float]]:
    ranges = []
    for part in header.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((_ALIASES.get(media.lower(), media.lower()), q))
    return ranges


def _quality(offered: str, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    """q of the most specific range matching ``offered`` (0 when none), and that specificity."""
    kind = offered.split("/")[0]
    best_q, best_specificity = 0.0, -1
    for media, q in ranges:
        if media == offered:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_q, best_specificity = q, specificity
    return best_q, best_specificity
