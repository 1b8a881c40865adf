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
- ``mark_written`` keeps, beside each key on the key's own servers, the WAL
  position of the last write evicted from it (raised with a CAS loop, so
  it only grows); ``write_mark`` reads it back for a fill. Every server
  sharing the pool sees it (runtime/write_marks.py says why fills need it).

Stored values carry client flag 1 (``F1``); placeholders carry 0, which is
how a placeholder is told from a stored empty value.

Which server holds a key, and which servers are down, is the pool's
business (``cache.memcached_pool``). A key no server can take is loaded
straight from the store, one load per key per process and at most
``fallback_concurrency`` loads at a time. Cache failures never reach the
caller.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping, Sequence

from gramstack.cache import keys as cache_keys
from gramstack.cache.memcached_pool import MemcachedPool, ServerBatches, Target
from gramstack.cache.memory import InProcessLeaseCache
from gramstack.cache.meta_client import MetaClient, Reply, md, mg, ms
from gramstack.cache.ports import CacheError, CacheUnavailable, Loader, ManyLoader

_STORED = "1"
_MARK_ATTEMPTS = 4  # raising a mark races only other writers of the same key
_FIRST_POLL_S = 0.002
_MAX_POLL_S = 0.05

# A key this caller holds the lease for: the server it was read from, and
# the CAS that lets only this caller store it.
_Won = Mapping[str, tuple[Target, int | None]]


def _is_value(reply: Reply) -> bool:
    return reply.code == "VA" and reply.flags.get("f") == _STORED


class _PollBackoff:
    """The wait between polls for keys another caller is loading: 2 ms,
    doubling up to 50 ms, until the lease wait is spent."""

    def __init__(self, wait_s: float) -> None:
        self._deadline = time.monotonic() + wait_s
        self._delay = _FIRST_POLL_S

    async def wait(self) -> bool:
        """Sleep before the next poll; False, at once, when that would pass
        the deadline (the loader is slow or gone: stop waiting for it)."""
        if time.monotonic() + self._delay > self._deadline:
            return False
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, _MAX_POLL_S)
        return True


class MemcachedLeaseCache:
    def __init__(
        self,
        pool: MemcachedPool,
        *,
        lease_s: int = 10,
        leases: bool = True,
        lease_wait_s: float = 2.0,
        fallback_concurrency: int = 16,
    ) -> None:
        self.pool = pool
        self._lease_s = lease_s
        self._leases = leases
        self._lease_wait_s = lease_wait_s
        self._fallback = InProcessLeaseCache(0)  # single-flight only, stores nothing
        self._fallback_slots = asyncio.Semaphore(fallback_concurrency)

    async def _quietly(self, client: MetaClient, call: Awaitable[object]) -> None:
        try:
            await call
        except CacheError as exc:
            self.pool.mark_down(client.address, exc)

    # -- single keys ---------------------------------------------------------

    async def get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        for _ in range(2):
            target = await self.pool.read_target(key)
            if target is None:
                break
            try:
                return await self._lease_read(target, key, loader, ttl_s)
            except CacheError as exc:
                self.pool.mark_down(target.client.address, exc)
        return await self._fallback.get_or_load(key, self._bounded(loader), 0)

    async def _lease_read(
        self, target: Target, key: str, loader: Loader, ttl_s: int
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
        backoff = _PollBackoff(self._lease_wait_s)
        while True:
            reply = await client.mg(key, "v", "c", "f", f"N{self._lease_s}")
            if reply.has("W"):
                return await self._refill(target, key, reply.int_flag("c"), loader, ttl_s)
            if _is_value(reply):
                return reply.value  # fresh, or stale while the winner refills
            if not await backoff.wait():
                return await loader()

    async def _refill(
        self, target: Target, key: str, cas: int | None, loader: Loader, ttl_s: int
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
        backoff = _PollBackoff(self._lease_wait_s)
        while todo:
            won, waiting, stranded = await self._read_many(todo, found)
            if won:
                found.update(await self._refill_many(won, loader, ttl_s))
            if stranded:
                bounded = self._bounded_many(loader)
                found.update(await self._fallback.get_many_or_load(stranded, bounded, 0))
            todo = waiting
            if todo and not await backoff.wait():
                found.update(await loader(todo))
                break
        return found

    async def _read_many(
        self, keys: Sequence[str], found: dict[str, bytes]
    ) -> tuple[_Won, list[str], list[str]]:
        """One pipelined ``mg`` per server: hits go into ``found``; returns
        the keys this caller won, the keys another caller is loading, and
        the keys no server can take."""
        flags = ("v", "c", "f", f"N{self._lease_s}") if self._leases else ("v", "f")
        won: dict[str, tuple[Target, int | None]] = {}
        waiting: list[str] = []
        stranded: list[str] = []
        todo = list(keys)
        for _ in range(2):  # once more for the keys of a server that just failed
            groups, unreachable = await self.pool.read_groups(todo)
            stranded.extend(unreachable)
            outcomes = await self.pool.execute(
                [(target.client, [mg(k, *flags) for k in batch]) for target, batch in groups]
            )
            todo = []
            for (target, batch), outcome in zip(groups, outcomes, strict=True):
                if isinstance(outcome, CacheError):
                    todo.extend(batch)
                    continue
                for key, reply in zip(batch, outcome, strict=True):
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

    async def _refill_many(self, won: _Won, loader: ManyLoader, ttl_s: int) -> Mapping[str, bytes]:
        try:
            loaded = await loader(list(won))
        except Exception:
            await self._release(won)
            raise
        writes = ServerBatches()
        for key, (target, cas) in won.items():
            guard = () if cas is None else (f"C{cas}",)
            value = loaded.get(key)
            if value is not None:
                writes.add(
                    target.client, ms(key, value, f"T{target.ttl(ttl_s)}", "F1", *guard, "q")
                )
            elif cas is not None:
                writes.add(target.client, md(key, *guard, "q"))
        await self.pool.send_quiet(writes)
        return loaded

    async def _release(self, won: _Won) -> None:
        """Give up leases whose load failed, so that the next caller tries."""
        writes = ServerBatches()
        for key, (target, cas) in won.items():
            if cas is not None:
                writes.add(target.client, md(key, f"C{cas}", "q"))
        await self.pool.send_quiet(writes)

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
        target = await self.pool.read_target(key)
        if target is None:
            return None
        try:
            reply = await target.client.mg(key, "v", "f")
        except CacheError as exc:
            self.pool.mark_down(target.client.address, exc)
            return None
        return reply.value if _is_value(reply) and not reply.has("X") else None

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        target = await self.pool.read_target(key)
        if target is not None:
            call = target.client.ms(key, value, f"T{target.ttl(ttl_s)}", "F1")
            await self._quietly(target.client, call)

    async def invalidate(self, keys: Sequence[str]) -> None:
        await self._delete(keys, ("I", f"T{self._lease_s}"))

    async def delete(self, keys: Sequence[str]) -> None:
        await self._delete(keys, ())

    async def _delete(self, keys: Sequence[str], flags: tuple[str, ...]) -> None:
        writes = ServerBatches()
        for key in dict.fromkeys(keys):
            for client in await self.pool.write_targets(key):
                writes.add(client, md(key, *flags, "q"))
        await self.pool.send_quiet(writes)

    # -- write marks ---------------------------------------------------------------

    async def mark_written(
        self, keys: Sequence[str], lsn: int, ttl_s: int, *, acknowledged: bool = False
    ) -> None:
        """Raise the write mark of each key to ``lsn`` on every server that
        may hold the key (read, then ``ms`` with the read's CAS, or in add
        mode when there is none; a lost race is read again). With
        ``acknowledged``, ``CacheUnavailable`` unless every server took it."""
        todo: list[tuple[MetaClient, str]] = []
        for key in dict.fromkeys(keys):
            owners = (
                self.pool.every_owner(key) if acknowledged else await self.pool.write_targets(key)
            )
            todo.extend((client, cache_keys.write_mark_key(key)) for client in owners)
        value = str(lsn).encode()
        for _ in range(_MARK_ATTEMPTS):
            if not todo:
                return
            reads = ServerBatches()
            for client, mark in todo:
                reads.add(client, mg(mark, "v", "c"))
            writes = ServerBatches()
            pending: dict[str, list[tuple[MetaClient, str]]] = {}
            batches = reads.batches()
            for (client, _), outcome in zip(batches, await self.pool.execute(batches), strict=True):
                if isinstance(outcome, CacheError):
                    if acknowledged:
                        raise CacheUnavailable(f"memcached {client.address}: {outcome}")
                    continue  # down: it serves no fills until flushed and back
                marks = [m for c, m in todo if c.address == client.address]
                for mark, reply in zip(marks, outcome, strict=True):
                    if reply.code == "VA" and reply.value is not None and int(reply.value) >= lsn:
                        continue
                    guard = f"C{reply.int_flag('c')}" if reply.code == "VA" else "ME"
                    writes.add(client, ms(mark, value, f"T{ttl_s}", guard))
                    pending.setdefault(client.address, []).append((client, mark))
            todo = []
            batches = writes.batches()
            for (client, _), outcome in zip(batches, await self.pool.execute(batches), strict=True):
                if isinstance(outcome, CacheError):
                    if acknowledged:
                        raise CacheUnavailable(f"memcached {client.address}: {outcome}")
                    continue
                for entry, reply in zip(pending[client.address], outcome, strict=True):
                    if reply.code != "HD":  # NS, EX, NF: someone else moved it
                        todo.append(entry)
        if todo and acknowledged:
            raise CacheUnavailable("write marks kept changing")

    async def write_mark(self, keys: Sequence[str]) -> int:
        """The highest write mark of ``keys`` on the servers their fills use;
        when a server cannot say, one no follower reaches (the leader)."""
        groups, _ = await self.pool.read_groups(keys)  # stranded keys are never stored
        batches = [
            (target.client, [mg(cache_keys.write_mark_key(k), "v") for k in batch])
            for target, batch in groups
        ]
        highest = 0
        for outcome in await self.pool.execute(batches):
            if isinstance(outcome, CacheError):
                return 1 << 62
            for reply in outcome:
                if reply.code == "VA" and reply.value:
                    highest = max(highest, int(reply.value))
        return highest

    async def invalidate_acknowledged(self, keys: Sequence[str]) -> None:
        """``invalidate``, but every server that may hold one of the keys must
        confirm it, else ``CacheUnavailable``: the invalidation service only
        moves its replication slot past changes whose deletes landed."""
        writes = ServerBatches()
        for key in dict.fromkeys(keys):
            for client in self.pool.every_owner(key):
                writes.add(client, md(key, "I", f"T{self._lease_s}", "q"))
        await self.pool.send_acknowledged(writes)

    async def ping(self) -> None:
        await self.pool.ping()

    async def close(self) -> None:
        await self.pool.close()
