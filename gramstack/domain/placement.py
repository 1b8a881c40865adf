"""Operating Akkio-style placement: the access counters' periodic flush,
which starts the moves the policy wants, and the operator's commands."""

from __future__ import annotations

from gramstack.domain import jobs
from gramstack.domain.backends import Backends


async def start_move(b: Backends, user_id: int, region: str) -> None:
    """Queue the durable job that moves ``user_id``'s data to ``region``."""
    await b.store.queue.enqueue([jobs.move_user(b.next_id(), user_id, region)], b.clock_ms())


async def flush_reads(b: Backends) -> list[tuple[int, str]]:
    """Write this worker's counted reads and start the moves they call for."""
    moves = await b.placement.flush_reads()
    if moves:
        await b.store.queue.enqueue(
            [jobs.move_user(b.next_id(), user, region) for user, region in moves], b.clock_ms()
        )
    return moves


async def evaluate_all(b: Backends) -> list[tuple[int, str]]:
    """Run the policy over every user with counted reads; start its moves."""
    moves = await b.placement.evaluate(await b.store.placement.users_with_reads())
    for user_id, region in moves:
        await start_move(b, user_id, region)
    return moves
