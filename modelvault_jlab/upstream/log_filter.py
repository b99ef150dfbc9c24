"""No URL with credentials in a log line of the HTTP client.

httpx logs every request's URL at INFO. The vault never puts credentials in a URL it builds
(they go in ``Authorization``), but an upstream may redirect to, or list, a URL that carries
``user:password@``: this filter masks the password in whatever httpx and httpcore log.
"""

from __future__ import annotations

import logging

import httpx

from ..core.urls import mask_userinfo

LOGGERS = ("httpx", "httpcore")


class MaskUserinfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_userinfo(str(a)) if isinstance(a, httpx.URL | str) and "@" in str(a) else a
                for a in record.args
            )
        if isinstance(record.msg, str) and "@" in record.msg:
            record.msg = " ".join(mask_userinfo(word) for word in record.msg.split(" "))
        return True


_FILTER = MaskUserinfo()


def mask_client_logs() -> None:
    """Install the filter on the HTTP client's loggers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


__all__ = ["MaskUserinfo", "mask_client_logs"]
