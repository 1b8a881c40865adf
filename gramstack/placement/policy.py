"""When a user's data should move: Akkio's access counters, decayed.

Each read of a user's timeline or inbox counts one for the region of the
server that served it. Counts decay exponentially with time constant
``window_s``, so a read ``window_s`` ago weighs 1/e of one now; a user
moves when one other region holds at least ``threshold`` of the decayed
total and the total is at least ``min_reads``.

A user whose last move ended less than ``cooldown_s`` ago is not moved
again, whatever the scores say: each move copies the partition and
double-writes for a while, worth it only for a lasting shift, and a user
whose reads are split near the threshold (travel, a VPN) would otherwise
be carried back and forth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PlacementPolicy:
    threshold: float
    window_s: float
    min_reads: float
    cooldown_s: float = 0.0

    def decay_to(self, now_ms: int) -> _DecayTo:
        return _DecayTo(now_ms, self.window_s * 1000)

    def choose(
        self, scores: Mapping[str, float], current: str, *, since_move_ms: int | None = None
    ) -> str | None:
        """The region ``scores`` say to move to, or None to stay.
        ``since_move_ms``: how long ago the user's last move ended (None:
        never moved)."""
        if since_move_ms is not None and since_move_ms < self.cooldown_s * 1000:
            return None
        total = sum(scores.values())
        if total < self.min_reads or total <= 0:
            return None
        region, best = max(scores.items(), key=lambda item: (item[1], item[0]))
        if region == current or best / total < self.threshold:
            return None
        return region


@dataclass(frozen=True)
class _DecayTo:
    now_ms: int
    tau_ms: float

    def __call__(self, score: float, at_ms: int) -> float:
        return score * math.exp(-max(0, self.now_ms - at_ms) / self.tau_ms)
