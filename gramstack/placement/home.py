"""Everyone lives in the server's home region: the embedded default, where
there is one region and nothing to place."""

from __future__ import annotations


class HomeRegionPlacement:
    def __init__(self, region: str) -> None:
        self.region = region

    async def region_of(self, user_id: int) -> str:
        return self.region
