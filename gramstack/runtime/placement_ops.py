"""``gramstack placement show USER | move USER REGION | evaluate``: the
operator's view of Akkio-style placement, over the same backends a server
opens (a move is queued as the durable job the servers' workers carry out)."""

from __future__ import annotations

from gramstack.domain.backends import Backends
from gramstack.domain.placement import evaluate_all, start_move
from gramstack.runtime.config import Settings
from gramstack.runtime.wiring import open_backends


class PlacementError(ValueError):
    pass


async def _user_id(b: Backends, user: str | None) -> int:
    if not user:
        raise PlacementError("name a user (username or numeric ID)")
    if user.isdigit():
        found = await b.store.accounts.users([int(user)])
        if found:
            return int(user)
    user_id = await b.store.accounts.user_id_by_username(user.lower())
    if user_id is None:
        raise PlacementError(f"no such user: {user}")
    return user_id


async def _show(b: Backends, user_id: int) -> list[str]:
    row = await b.store.placement.location(user_id)
    lines = [f"user {user_id}"]
    if row is None:
        lines.append("  not placed yet (placed in the first region that looks it up)")
    else:
        move = "" if row.target is None else f" target={row.target}"
        lines.append(f"  region={row.region} state={row.state}{move} epoch={row.epoch}")
    for region, score in sorted((await b.placement.read_scores(user_id)).items()):
        lines.append(f"  reads from {region}: {score:.1f} (decayed)")
    return lines


async def run_placement_command(
    settings: Settings, action: str, user: str | None, region: str | None
) -> list[str]:
    async with open_backends(settings) as running:
        b = running.backends
        if action == "evaluate":
            moves = await evaluate_all(b)
            return [f"moving user {u} to {r}" for u, r in moves] or ["no user to move"]
        user_id = await _user_id(b, user)
        if action == "show":
            return await _show(b, user_id)
        if region is None or region not in settings.all_regions:
            regions = ",".join(settings.all_regions)
            raise PlacementError(f"name a region to move to, one of {regions}")
        await start_move(b, user_id, region)
        return [f"moving user {user_id} to {region} (a job; see `gramstack placement show`)"]
