"""Where each user's regional data lives (Akkio's location lookup), and
what placement needs from the stores below it.

Placement sits beside ``regional`` and may not import it: the client is
generic over the store type ``S`` it routes to; the migrator needs only
:class:`PartitionStore` of it, which ``regional.sql.SqlRegionalStore`` has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from gramstack.records import LocationRecord, LocationState, RegionalPartition

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)

# Decays a score recorded at a time (ms) to now (ms).
Decay = Callable[[float, int], float]


class LocationTable(Protocol):
    """The location table in the primary store (``storage.placement``)."""

    async def location(self, user_id: int) -> LocationRecord | None: ...

    async def place(self, user_id: int, region: str, now: int) -> LocationRecord:
        """Record ``region`` unless the user is placed already; the row as it is."""
        ...

    async def transition(
        self,
        current: LocationRecord,
        *,
        region: str,
        target: str | None,
        state: LocationState,
        now: int,
    ) -> LocationRecord | None:
        """Move the row on from ``current`` (epoch + 1); None when someone
        else changed it first (its epoch is no longer ``current.epoch``)."""
        ...

    async def add_reads(
        self, counts: Mapping[tuple[int, str], int], now: int, decay: Decay
    ) -> None: ...

    async def read_scores(self, user_id: int, now: int, decay: Decay) -> dict[str, float]: ...

    async def users_with_reads(self) -> list[int]: ...


class PartitionStore(Protocol):
    """A regional store as a move sees it: one user's partition at a time."""

    async def export_partition(self, user_id: int) -> RegionalPartition: ...

    async def import_partition(self, user_id: int, partition: RegionalPartition) -> None:
        """Merge by ID: rows already there stay, a tombstone wins over a live row."""
        ...

    async def delete_partition(self, user_id: int) -> None: ...


class Placement(Protocol[S]):
    """What the domain asks: which store holds a user's data for reading,
    and which stores a write to it must go to (two during a move, the
    destination first)."""

    async def region_of(self, user_id: int) -> str:
        """The region reads of ``user_id``'s data go to."""
        ...

    async def store_for_read(self, user_id: int) -> S:
        """The store to serve ``user_id``'s own timeline or inbox from; the
        read is counted for the placement policy."""
        ...

    async def stores_for_write(self, user_id: int) -> list[S]: ...

    async def write(self, user_id: int, apply: Callable[[S], Awaitable[None]]) -> None:
        """Apply a write to every store ``user_id``'s data must get it in."""
        ...

    async def write_many(
        self, user_ids: Sequence[int], apply: Callable[[S, list[int]], Awaitable[None]]
    ) -> None:
        """``write`` for many users, one call per store with its users."""
        ...

    async def place_new_user(self, user_id: int) -> None: ...

    async def flush_reads(self) -> list[tuple[int, str]]:
        """Write this worker's counted reads; the moves the policy wants now."""
        ...

    async def evaluate(self, user_ids: Sequence[int]) -> list[tuple[int, str]]:
        """The moves the policy wants for ``user_ids``."""
        ...

    async def read_scores(self, user_id: int) -> dict[str, float]:
        """``user_id``'s decayed reads by serving region, as of now."""
        ...

    async def advance_move(self, user_id: int, region: str) -> int | None:
        """Take one step of moving ``user_id`` to ``region``; the time (ms)
        to call again, None when the move is done."""
        ...
