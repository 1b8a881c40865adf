"""The memcached servers behind one lease cache: which server holds a key,
which servers are down, and commands sent as one pipeline per server.

Keys are spread over the servers by a consistent-hash ring. A server that
fails is skipped for ``retry_down_s``: its keys go to the gutter pool (short
TTLs) when there is one, else to no server at all (the caller then loads
from the store). A server that comes back is flushed before use: it missed
the deletes sent while it was away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gramstack.cache.meta_client import MetaClient, Reply
from gramstack.cache.ports import CacheError, CacheUnavailable
from gramstack.cache.ring import HashRing

log = logging.getLogger("gramstack.cache.memcached")

# A server as (host, port), as the settings give it.
Address = tuple[str, int]
# Commands for one server, sent in one write; and what came back: the
# replies, or the error that marked the server down.
Batch = tuple[MetaClient, list[bytes]]
Outcome = list[Reply] | CacheError


@dataclass(frozen=True, slots=True)
class Target:
    """The server that serves a key's reads right now."""

    client: MetaClient
    ttl_cap: int | None = None  # the gutter keeps values briefly

    def ttl(self, ttl_s: int) -> int:
        return ttl_s if self.ttl_cap is None else min(ttl_s, self.ttl_cap)


class ServerBatches:
    """Commands grouped by the server they go to, so that each server is
    sent all of its commands in one round trip."""

    def __init__(self) -> None:
        self._by_address: dict[str, Batch] = {}

    def add(self, client: MetaClient, command: bytes) -> None:
        self._by_address.setdefault(client.address, (client, []))[1].append(command)

    def batches(self) -> list[Batch]:
        return list(self._by_address.values())


class MemcachedPool:
    def __init__(
        self,
        servers: Sequence[Address],
        gutter: Sequence[Address] = (),
        *,
        timeout_s: float = 0.5,
        pool_size: int = 8,
        gutter_ttl_s: int = 10,
        retry_down_s: float = 1.0,
    ) -> None:
        if not servers:
            raise ValueError("memcached needs at least one server")
        self._gutter_ttl_s = gutter_ttl_s
        self._retry_down_s = retry_down_s
        self._clients: dict[str, MetaClient] = {}
        for host, port in [*servers, *gutter]:
            client = MetaClient(host, port, pool_size=pool_size, timeout_s=timeout_s)
            self._clients[client.address] = client
        self._ring = HashRing([f"{host}:{port}" for host, port in servers])
        self._gutter = HashRing([f"{host}:{port}" for host, port in gutter]) if gutter else None
        self._down_until: dict[str, float] = {}
        self._probing: set[str] = set()

    # -- health ------------------------------------------------------------------

    def mark_down(self, address: str, exc: BaseException) -> None:
        if address not in self._down_until:
            log.warning("memcached %s is down (%r); routing around it", address, exc)
        self._down_until[address] = time.monotonic() + self._retry_down_s

    async def _usable(self, address: str) -> bool:
        until = self._down_until.get(address)
        if until is None:
            return True
        if time.monotonic() < until or address in self._probing:
            return False
        self._probing.add(address)
        try:
            # It may have missed deletes while we could not reach it.
            await self._clients[address].flush_all()
        except CacheError as exc:
            self.mark_down(address, exc)
            return False
        finally:
            self._probing.discard(address)
        del self._down_until[address]
        log.warning("memcached %s is back (flushed)", address)
        return True

    # -- routing -------------------------------------------------------------------

    def node_for(self, key: str) -> str:
        """The address of the server that owns ``key`` on the main ring."""
        return self._ring.node_for(key)

    def _owners(self, key: str) -> list[str]:
        addresses = [self._ring.node_for(key)]
        if self._gutter is not None:
            addresses.append(self._gutter.node_for(key))
        return addresses

    async def read_target(self, key: str) -> Target | None:
        """The key's server, its gutter server while that one is down, or
        None when neither can be used."""
        address = self._ring.node_for(key)
        if await self._usable(address):
            return Target(self._clients[address])
        if self._gutter is not None:
            spare = self._gutter.node_for(key)
            if await self._usable(spare):
                return Target(self._clients[spare], self._gutter_ttl_s)
        return None

    async def read_groups(
        self, keys: Iterable[str]
    ) -> tuple[list[tuple[Target, list[str]]], list[str]]:
        """``keys`` grouped by the server that serves their reads, and the
        keys no server can take."""
        groups: dict[str, tuple[Target, list[str]]] = {}
        stranded: list[str] = []
        for key in keys:
            target = await self.read_target(key)
            if target is None:
                stranded.append(key)
            else:
                groups.setdefault(target.client.address, (target, []))[1].append(key)
        return list(groups.values()), stranded

    async def write_targets(self, key: str) -> list[MetaClient]:
        """The usable servers a delete of ``key`` goes to: its server and its
        gutter server alike (the gutter may hold it from an outage)."""
        return [self._clients[a] for a in self._owners(key) if await self._usable(a)]

    def every_owner(self, key: str) -> list[MetaClient]:
        """Every server that may hold ``key``, up or not: for deletes that
        must be acknowledged."""
        return [self._clients[a] for a in self._owners(key)]

    # -- sending -------------------------------------------------------------------

    async def execute(self, batches: Sequence[Batch], *, quiet: bool = False) -> list[Outcome]:
        """Each batch as one pipeline, to all servers at once; a server that
        fails is marked down and its outcome is the error."""
        results = await asyncio.gather(
            *(client.execute(commands, quiet=quiet) for client, commands in batches),
            return_exceptions=True,
        )
        outcomes: list[Outcome] = []
        for (client, _), result in zip(batches, results, strict=True):
            if isinstance(result, CacheError):
                self.mark_down(client.address, result)
            elif isinstance(result, BaseException):
                raise result
            outcomes.append(result)
        return outcomes

    async def send_quiet(self, writes: ServerBatches) -> None:
        """Quiet commands (``q``) closed by ``mn``, one pipeline per server;
        failures mark the server down and are otherwise ignored."""
        await self.execute(writes.batches(), quiet=True)

    async def send_acknowledged(self, writes: ServerBatches) -> None:
        """Quiet deletes that every server must confirm, else
        ``CacheUnavailable``."""
        batches = writes.batches()
        for (client, _), outcome in zip(
            batches, await self.execute(batches, quiet=True), strict=True
        ):
            if isinstance(outcome, CacheError):
                raise CacheUnavailable(f"memcached {client.address}: {outcome}") from outcome
            refused = [reply.code for reply in outcome if reply.code not in ("HD", "NF")]
            if refused:
                raise CacheUnavailable(f"memcached {client.address} refused deletes: {refused[0]}")

    async def ping(self) -> None:
        """Ready while any server answers: a dead one only costs hit rate."""
        errors: list[BaseException] = []
        for address in self._ring.nodes:
            try:
                await self._clients[address].mn()
                return
            except CacheError as exc:
                errors.append(exc)
        raise CacheUnavailable(f"no memcached server answers: {errors[0]!r}")

    async def close(self) -> None:
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                await client.close()
