"""The lease cache on a pool of memcached servers (meta protocol).

Leases, as in Facebook's memcache paper, done with meta flags:

- a read is ``mg <key> v c f N<lease>``; on a miss memcached creates an
  empty placeholder and answers ``W`` (you won) to one caller and ``Z`` to
  the rest. The winner loads and stores with ``ms <key> C<cas> T<ttl>``;
  the others poll briefly, then give up and load without storing.
- ``invalidate`` is ``md <key> I T<lease>``: the value stays, marked stale
  (``X``); one reader gets ``W`` and refills, the others are served the
  stale value. A second invalidation bumps the CAS, so a refill that raced
  it is refused (``EX``) instead of storing a value older than the change.
- ``delete`` is a plain ``md``: the writer's own keys, so that every value
  read after its commit was loaded after it.

Stored values carry client flag 1 (``F1``); placeholders carry 0, which is
how a placeholder is told from a stored empty value.

Keys are spread over the servers by a consistent-hash ring. A server that
fails is skipped for ``retry_down_s``: its keys go to the gutter pool (short
TTLs) when there is one, else straight to the store, one load per key per
process and at most ``fallback_concurrency`` loads at a time. A server that
comes back is flushed before use: it missed the deletes sent while it was
away. Cache failures never reach the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass

from gramstack.cache.memory import InProcessLeaseCache
from gramstack.cache.meta_client import MetaClient, Reply, md, mg, ms, parse_address
from gramstack.cache.ports import CacheError, CacheUnavailable, Loader, ManyLoader
from gramstack.cache.ring import HashRing

log = logging.getLogger("gramstack.cache.memcached")

_STORED = "1"
_MAX_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class _Target:
    client: MetaClient
    ttl_cap: int | None = None  # the gutter keeps values briefly

    def ttl(self, ttl_s: int) -> int:
        return ttl_s if self.ttl_cap is None else min(ttl_s, self.ttl_cap)


def _is_value(reply: Reply) -> bool:
    return reply.code == "VA" and reply.flags.get("f") == _STORED


class MemcachedLeaseCache:
    def __init__(
        self,
        servers: Sequence[str],
        gutter: Sequence[str] = (),
        *,
        lease_s: int = 10,
        leases: bool = True,
        timeout_s: float = 0.5,
        pool_size: int = 8,
        lease_wait_s: float = 2.0,
        gutter_ttl_s: int = 10,
        retry_down_s: float = 1.0,
        fallback_concurrency: int = 16,
    ) -> None:
        if not servers:
            raise ValueError("memcached needs at least one server")
        self._lease_s = lease_s
        self._leases = leases
        self._lease_wait_s = lease_wait_s
        self._gutter_ttl_s = gutter_ttl_s
        self._retry_down_s = retry_down_s
        self._clients: dict[str, MetaClient] = {}
        for address in [*servers, *gutter]:
            host, port = parse_address(address)
            key = f"{host}:{port}"
            self._clients[key] = MetaClient(host, port, pool_size=pool_size, timeout_s=timeout_s)
        self._ring = HashRing([_normal(a) for a in servers])
        self._gutter = HashRing([_normal(a) for a in gutter]) if gutter else None
        self._down_until: dict[str, float] = {}
        self._probing: set[str] = set()
        self._fallback = InProcessLeaseCache(0)  # single-flight only, stores nothing
        self._fallback_slots = asyncio.Semaphore(fallback_concurrency)

    # -- server health and routing -------------------------------------------

    def _mark_down(self, address: str, exc: BaseException) -> None:
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
            self._mark_down(address, exc)
            return False
        finally:
            self._probing.discard(address)
        del self._down_until[address]
        log.warning("memcached %s is back (flushed)", address)
        return True

    async def _read_target(self, key: str) -> _Target | None:
        address = self._ring.node_for(key)
        if await self._usable(address):
            return _Target(self._clients[address])
        if self._gutter is not None:
            spare = self._gutter.node_for(key)
            if await self._usable(spare):
                return _Target(self._clients[spare], self._gutter_ttl_s)
        return None

    async def _write_targets(self, key: str) -> list[MetaClient]:
        """Deletes go to the key's server and its gutter server alike."""
        addresses = [self._ring.node_for(key)]
        if self._gutter is not None:
            addresses.append(self._gutter.node_for(key))
        return [self._clients[a] for a in addresses if await self._usable(a)]

    async def _quietly(self, client: MetaClient, call: Awaitable[object]) -> None:
        try:
            await call
        except CacheError as exc:
            self._mark_down(client.address, exc)

    # -- single keys ---------------------------------------------------------

    async def get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        for _ in range(2):
            target = await self._read_target(key)
            if target is None:
                break
            try:
                return await self._lease_read(target, key, loader, ttl_s)
            except CacheError as exc:
                self._mark_down(target.client.address, exc)
        return await self._fallback.get_or_load(key, self._bounded(loader), 0)

    async def _lease_read(
        self, target: _Target, key: str, loader: Loader, ttl_s: int
    ) -> bytes | None:
        client = target.client
        if not self._leases:
            reply = await client.mg(key, "v", "f")
            if _is_value(reply) and not reply.has("X"):
                return reply.value
            value = await loader()
            if value is not None:
                await self._quietly(client, client.ms(key, value, f"T{target.ttl(ttl_s)}", "F1"))
            return value
        deadline = time.monotonic() + self._lease_wait_s
        delay = 0.002
        while True:
            reply = await client.mg(key, "v", "c", "f", f"N{self._lease_s}")
            if reply.has("W"):
                return await self._refill(target, key, reply.int_flag("c"), loader, ttl_s)
            if _is_value(reply):
                return reply.value  # fresh, or stale while the winner refills
            if time.monotonic() + delay > deadline:
                return await loader()  # the winner is slow or gone: do not wait longer
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_POLL_S)

    async def _refill(
        self, target: _Target, key: str, cas: int | None, loader: Loader, ttl_s: int
    ) -> bytes | None:
        client = target.client
        try:
            value = await loader()
        except Exception:
            await self._quietly(client, client.md(key, f"C{cas}"))  # let the next caller try
            raise
        if value is None:
            await self._quietly(client, client.md(key, f"C{cas}"))
        else:
            flags = (f"T{target.ttl(ttl_s)}", "F1", f"C{cas}")
            await self._quietly(client, client.ms(key, value, *flags))
        return value

    # -- pages of keys -------------------------------------------------------

    async def get_many_or_load(
        self, keys: Sequence[str], loader: ManyLoader, ttl_s: int
    ) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        todo = list(dict.fromkeys(keys))
        deadline = time.monotonic() + self._lease_wait_s
        delay = 0.002
        while todo:
            won, waiting, stranded = await self._read_many(todo, found)
            if won:
                found.update(await self._refill_many(won, loader, ttl_s))
            if stranded:
                bounded = self._bounded_many(loader)
                found.update(await self._fallback.get_many_or_load(stranded, bounded, 0))
            todo = waiting
            if not todo:
                break
            if time.monotonic() + delay > deadline:
                found.update(await loader(todo))
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_POLL_S)
        return found

    async def _read_many(
        self, keys: Sequence[str], found: dict[str, bytes]
    ) -> tuple[dict[str, tuple[_Target, int | None]], list[str], list[str]]:
        """One pipelined ``mg`` per server: hits go into ``found``; returns
        the keys this caller won, the keys another caller is loading, and
        the keys no server can take."""
        flags = ("v", "c", "f", f"N{self._lease_s}") if self._leases else ("v", "f")
        won: dict[str, tuple[_Target, int | None]] = {}
        waiting: list[str] = []
        stranded: list[str] = []
        todo = list(keys)
        for _ in range(2):
            groups: dict[str, tuple[_Target, list[str]]] = {}
            for key in todo:
                target = await self._read_target(key)
                if target is None:
                    stranded.append(key)
                else:
                    groups.setdefault(target.client.address, (target, []))[1].append(key)
            batches = list(groups.values())
            replies = await asyncio.gather(
                *(t.client.execute([mg(k, *flags) for k in ks]) for t, ks in batches),
                return_exceptions=True,
            )
            todo = []
            for (target, batch), result in zip(batches, replies, strict=True):
                if isinstance(result, CacheError):
                    self._mark_down(target.client.address, result)
                    todo.extend(batch)
                    continue
                if isinstance(result, BaseException):
                    raise result
                for key, reply in zip(batch, result, strict=True):
                    if reply.has("W") or (not self._leases and not _is_value(reply)):
                        won[key] = (target, reply.int_flag("c"))
                    elif _is_value(reply) and (self._leases or not reply.has("X")):
                        assert reply.value is not None
                        found[key] = reply.value
                    else:
                        waiting.append(key)
            if not todo:
                break
        stranded.extend(todo)
        return won, waiting, stranded

    async def _refill_many(
        self, won: Mapping[str, tuple[_Target, int | None]], loader: ManyLoader, ttl_s: int
    ) -> Mapping[str, bytes]:
        try:
            loaded = await loader(list(won))
        except Exception:
            await self._release(won)
            raise
        writes: dict[str, tuple[MetaClient, list[bytes]]] = {}
        for key, (target, cas) in won.items():
            batch = writes.setdefault(target.client.address, (target.client, []))[1]
            guard = () if cas is None else (f"C{cas}",)
            value = loaded.get(key)
            if value is None:
                if cas is not None:
                    batch.append(md(key, *guard, "q"))
            else:
                batch.append(ms(key, value, f"T{target.ttl(ttl_s)}", "F1", *guard, "q"))
        await self._run_quiet(writes)
        return loaded

    async def _release(self, won: Mapping[str, tuple[_Target, int | None]]) -> None:
        writes: dict[str, tuple[MetaClient, list[bytes]]] = {}
        for key, (target, cas) in won.items():
            if cas is not None:
                batch = writes.setdefault(target.client.address, (target.client, []))[1]
                batch.append(md(key, f"C{cas}", "q"))
        await self._run_quiet(writes)

    async def _run_quiet(self, writes: Mapping[str, tuple[MetaClient, list[bytes]]]) -> None:
        """Pipelined quiet commands closed by ``mn``, one batch per server;
        failures mark the server down and are otherwise ignored."""
        batches = [b for b in writes.values() if b[1]]
        results = await asyncio.gather(
            *(client.execute(commands, quiet=True) for client, commands in batches),
            return_exceptions=True,
        )
        for (client, _), result in zip(batches, results, strict=True):
            if isinstance(result, CacheError):
                self._mark_down(client.address, result)
            elif isinstance(result, BaseException):
                raise result

    # -- fallback to the store -------------------------------------------------

    def _bounded(self, loader: Loader) -> Loader:
        async def load() -> bytes | None:
            async with self._fallback_slots:
                return await loader()

        return load

    def _bounded_many(self, loader: ManyLoader) -> ManyLoader:
        async def load(keys: Sequence[str]) -> Mapping[str, bytes]:
            async with self._fallback_slots:
                return await loader(keys)

        return load

    # -- plain operations --------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        target = await self._read_target(key)
        if target is None:
            return None
        try:
            reply = await target.client.mg(key, "v", "f")
        except CacheError as exc:
            self._mark_down(target.client.address, exc)
            return None
        return reply.value if _is_value(reply) and not reply.has("X") else None

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        target = await self._read_target(key)
        if target is not None:
            call = target.client.ms(key, value, f"T{target.ttl(ttl_s)}", "F1")
            await self._quietly(target.client, call)

    async def invalidate(self, keys: Sequence[str]) -> None:
        await self._delete(keys, ("I", f"T{self._lease_s}"))

    async def delete(self, keys: Sequence[str]) -> None:
        await self._delete(keys, ())

    async def invalidate_acknowledged(self, keys: Sequence[str]) -> None:
        """``invalidate``, but every server that holds one of the keys must
        confirm it, else ``CacheUnavailable``: the invalidation service only
        moves its replication slot past changes whose deletes landed."""
        writes: dict[str, tuple[MetaClient, list[bytes]]] = {}
        for key in dict.fromkeys(keys):
            addresses = [self._ring.node_for(key)]
            if self._gutter is not None:
                addresses.append(self._gutter.node_for(key))
            for address in addresses:
                client = self._clients[address]
                command = md(key, "I", f"T{self._lease_s}", "q")
                writes.setdefault(address, (client, []))[1].append(command)
        batches = list(writes.values())
        results = await asyncio.gather(
            *(client.execute(commands, quiet=True) for client, commands in batches),
            return_exceptions=True,
        )
        for (client, _), result in zip(batches, results, strict=True):
            if isinstance(result, CacheError):
                self._mark_down(client.address, result)
                raise CacheUnavailable(f"memcached {client.address}: {result}") from result
            if isinstance(result, BaseException):
                raise result
            refused = [reply.code for reply in result if reply.code not in ("HD", "NF")]
            if refused:
                raise CacheUnavailable(f"memcached {client.address} refused deletes: {refused[0]}")

    async def _delete(self, keys: Sequence[str], flags: tuple[str, ...]) -> None:
        writes: dict[str, tuple[MetaClient, list[bytes]]] = {}
        for key in dict.fromkeys(keys):
            for client in await self._write_targets(key):
                writes.setdefault(client.address, (client, []))[1].append(md(key, *flags, "q"))
        await self._run_quiet(writes)

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


def _normal(address: str) -> str:
    host, port = parse_address(address)
    return f"{host}:{port}"
