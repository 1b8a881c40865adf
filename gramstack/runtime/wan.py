"""The one transport seam between regions: every call from this server to
another region's store (or cache pool) is made through :func:`across_wan`,
which adds the configured one-way delay on the way out and again on the
way back, so a round trip costs twice ``wan_delay_ms``; the home region's
calls do not pass here. On one machine this is what makes placement's
benefit measurable; in production it would be the real network.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")


class _AcrossWan:
    """Forwards attribute access to ``target``; coroutine methods are delayed."""

    def __init__(self, target: object, one_way_s: float) -> None:
        self._target = target
        self._one_way_s = one_way_s

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        method = cast(Callable[..., Awaitable[Any]], attribute)
        one_way_s = self._one_way_s

        @functools.wraps(method)
        async def delayed(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(one_way_s)
            result = await method(*args, **kwargs)
            await asyncio.sleep(one_way_s)
            return result

        return delayed

    def __repr__(self) -> str:
        return f"across_wan({self._target!r}, {self._one_way_s * 1000:g} ms)"


def across_wan(target: T, one_way_ms: float) -> T:
    """``target`` as seen from another region: same methods, each async one
    ``one_way_ms`` later each way. No delay configured: ``target`` itself."""
    if one_way_ms <= 0:
        return target
    return cast(T, _AcrossWan(target, one_way_ms / 1000))
