"""Process-wide log setup: one line per event, with the process id, so the
lines of several prefork workers stay readable when interleaved."""

from __future__ import annotations

import logging

_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"


def configure_logging(level: str = "info") -> None:
    logging.basicConfig(level=level.upper(), format=_FORMAT)
    logging.getLogger().setLevel(level.upper())
