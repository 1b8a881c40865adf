from __future__ import annotations

from datetime import datetime, timedelta

_EPOCH = datetime(1970, 1, 1)


def format_timestamp(ms: int) -> str:
    """RFC 3339 UTC time of ``ms`` since the Unix epoch: ``2026-01-01T00:00:00.000Z``."""
    # Integer arithmetic, not fromtimestamp(ms / 1000): no float rounding.
    return (_EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds") + "Z"
