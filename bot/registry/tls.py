"""How a client checks a registry's certificate: the default trust store, a CA bundle
of the registry's own, or (``insecure``) not at all. Contexts are made once and shared
by every client that checks the same way (each would load its CA bundle again, about
1 MB a client)."""

from __future__ import annotations

import functools
import logging
import ssl

import httpx

from .settings import RegistrySettings

log = logging.getLogger(__name__)


@functools.cache
def _trust(ca_bundle: str | None) -> ssl.SSLContext:
    """The context trusting ``ca_bundle`` (None: the default trust store), made once."""
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return httpx.create_ssl_context()


def tls_verify(settings: RegistrySettings, shown: str) -> ssl.SSLContext | bool:
    """What the transport to the registry ``shown`` verifies certificates with."""
    if settings.insecure:
        log.warning("TLS verification is off: certificates of %s are NOT verified", shown)
        return False
    return _trust(settings.ca_bundle or None)
