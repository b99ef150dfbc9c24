"""The certificates an upstream's TLS is verified against.

Every outbound client (JSON on httpx, file bodies on :mod:`.http_stream`) verifies upstreams with
one context: the operating system's trust store, which honours OpenSSL's ``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` (where companies install the CA of a TLS-inspecting proxy), plus certifi's Mozilla
bundle for systems without a usable store. The clients keep ``trust_env=False`` otherwise: the
server account's proxy settings and ``.netrc`` never reach an upstream.
"""

from __future__ import annotations

import ssl
import threading

import certifi


def upstream_ssl_context() -> ssl.SSLContext:
    context = ssl.create_default_context()  # the system store, SSL_CERT_FILE / SSL_CERT_DIR
    context.load_verify_locations(cafile=certifi.where())
    return context


class SharedTrust:
    """One :func:`upstream_ssl_context` for the clients of one owner, built on first use: loading
    the stores takes ~0.1 s, which every server start would pay even with no HTTPS upstream."""

    def __init__(self) -> None:
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()  # reader threads may ask at once

    def __call__(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = upstream_ssl_context()
            return self._context


__all__ = ["SharedTrust", "upstream_ssl_context"]
