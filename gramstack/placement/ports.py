"""Where each user's regional data lives (Akkio's location lookup)."""

from __future__ import annotations

from typing import Protocol


class Placement(Protocol):
    async def region_of(self, user_id: int) -> str: ...
