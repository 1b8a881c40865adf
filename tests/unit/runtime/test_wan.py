"""The WAN seam: another region's calls pay the one-way delay twice."""

from __future__ import annotations

import time

from gramstack.runtime.wan import across_wan


class _Store:
    region = "eu"

    async def echo(self, value: int) -> int:
        return value

    def sync(self) -> str:
        return "no delay"


async def test_each_async_call_pays_a_round_trip() -> None:
    remote = across_wan(_Store(), one_way_ms=30)
    started = time.perf_counter()
    assert await remote.echo(5) == 5
    assert time.perf_counter() - started >= 0.06
    assert remote.region == "eu"
    assert remote.sync() == "no delay"


def test_no_delay_is_the_store_itself() -> None:
    store = _Store()
    assert across_wan(store, one_way_ms=0) is store
