"""Following the registry's pages of catalog and tag lists.

``next_page_url`` follows ``Link: <...>; rel="next"`` exactly as the registry sends it
(relative or absolute), refuses a link to another host and caps the page size.
"""

from __future__ import annotations

import httpx

from .errors import RegistryResponseError
from .http import origin, parse_next_link, redact_url

MAX_PAGE_SIZE = 1000


def next_page_url(response: httpx.Response) -> httpx.URL | None:
    """Where the next page is, resolved against the request URL; None on the last page."""
    target = parse_next_link(response.headers.get("Link"))
    if target is None:
        return None
    current = response.request.url
    url = current.join(target)
    if origin(url) != origin(current):
        raise RegistryResponseError(
            f"The registry at {redact_url(current.copy_with(raw_path=b'/'))} sent a next-page "
            f"link to another host ({redact_url(url)}); refusing to follow it."
        )
    n = url.params.get("n")
    if n is not None and (not (n.isascii() and n.isdigit()) or int(n) > MAX_PAGE_SIZE):
        url = url.copy_set_param("n", str(MAX_PAGE_SIZE))
    return url
