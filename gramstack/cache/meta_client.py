"""A small asyncio client for memcached's meta protocol (``mg ms md mn``).

Why our own: the leases this cache depends on (``N`` vivify-on-miss, the
``W``/``Z``/``X`` win, lost and stale flags, ``md … I`` invalidation and
compare-and-set by ``C``) exist only in the meta commands, and no maintained
asyncio Python library speaks them (aiomcache and emcache use the classic
text protocol; pymemcache is synchronous). The protocol is small: a command
line, an optional data block, one reply per command (or none for ``q``
commands, closed by ``mn``'s ``MN``).

One ``MetaClient`` talks to one server through a small pool of connections.
A batch of commands is written in one go and its replies read in order
(pipelining). Any I/O error or timeout closes that connection, whose state
is then unknown, and raises ``CacheUnavailable``; the next call reconnects.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from gramstack.cache.ports import CacheError, CacheUnavailable

MAX_KEY = 250


class MetaProtocolError(CacheError):
    """memcached answered ERROR, CLIENT_ERROR or SERVER_ERROR."""


@dataclass(frozen=True, slots=True)
class Reply:
    code: str  # VA HD EN NF NS EX MN
    flags: dict[str, str] = field(default_factory=dict)
    value: bytes | None = None

    def has(self, flag: str) -> bool:
        return flag in self.flags

    def int_flag(self, flag: str) -> int | None:
        raw = self.flags.get(flag)
        return None if raw is None or raw == "" else int(raw)


# Bytes a key may carry as it is: printable ASCII without the space.
_WIRE_SAFE = re.compile(rb"[\x21-\x7e]*")


def wire_key(key: str) -> tuple[bytes, bool]:
    """The key as sent, and whether it is base64 (the ``b`` flag).

    Keys with spaces, control or non-ASCII bytes go base64; keys longer than
    memcached's 250 bytes are replaced by a digest first.
    """
    raw = key.encode()
    # One regex scan in C: a generator over the bytes was ~3 % of a worker's CPU.
    if len(raw) <= MAX_KEY and _WIRE_SAFE.fullmatch(raw) is not None:
        return raw, False
    if len(raw) > MAX_KEY:
        raw = b"#" + hashlib.blake2b(raw, digest_size=32).digest()
    return base64.b64encode(raw), True


def _command(verb: bytes, key: str, flags: Sequence[str], size: int | None = None) -> bytes:
    encoded, binary = wire_key(key)
    parts = [verb, encoded]
    if size is not None:
        parts.append(str(size).encode())
    parts.extend(flag.encode() for flag in flags)
    if binary:
        parts.append(b"b")
    return b" ".join(parts) + b"\r\n"


def mg(key: str, *flags: str) -> bytes:
    return _command(b"mg", key, flags)


def ms(key: str, value: bytes, *flags: str) -> bytes:
    return _command(b"ms", key, flags, len(value)) + value + b"\r\n"


def md(key: str, *flags: str) -> bytes:
    return _command(b"md", key, flags)


MN = b"mn\r\n"


def _parse_flags(tokens: Sequence[bytes]) -> dict[str, str]:
    return {token[:1].decode(): token[1:].decode() for token in tokens if token}


async def _read_reply(reader: asyncio.StreamReader) -> Reply:
    line = await reader.readuntil(b"\r\n")
    tokens = line[:-2].split(b" ")
    code = tokens[0].decode("ascii", "replace")
    if code == "VA":
        size = int(tokens[1])
        data = await reader.readexactly(size + 2)
        return Reply(code, _parse_flags(tokens[2:]), data[:-2])
    if code in {"HD", "EN", "NF", "NS", "EX", "MN", "OK"}:
        return Reply(code, _parse_flags(tokens[1:]))
    raise MetaProtocolError(line.decode("ascii", "replace").strip())


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class MetaClient:
    def __init__(self, host: str, port: int, *, pool_size: int = 8, timeout_s: float = 0.5) -> None:
        self.host = host
        self.port = port
        self.address = f"{host}:{port}"
        self._timeout = timeout_s
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: list[_Connection] = []
        self._closed = False

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return _Connection(reader, writer)

    async def execute(self, commands: Sequence[bytes], *, quiet: bool = False) -> list[Reply]:
        """Send ``commands`` in one write and read their replies in order.

        With ``quiet`` the commands carry the ``q`` flag and only failures
        answer: ``mn`` is appended and replies are read up to its ``MN``.
        """
        if self._closed:
            raise CacheUnavailable("client is closed")
        if not commands:
            return []
        payload = b"".join(commands) + (MN if quiet else b"")
        async with self._slots:
            conn: _Connection | None = None
            healthy = False
            try:
                async with asyncio.timeout(self._timeout):
                    conn = self._idle.pop() if self._idle else await self._connect()
                    conn.writer.write(payload)
                    await conn.writer.drain()
                    replies: list[Reply] = []
                    if quiet:
                        while (reply := await _read_reply(conn.reader)).code != "MN":
                            replies.append(reply)
                    else:
                        for _ in commands:
                            replies.append(await _read_reply(conn.reader))
                healthy = True
                return replies
            except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError) as exc:
                raise CacheUnavailable(f"memcached {self.address}: {exc!r}") from exc
            except asyncio.LimitOverrunError as exc:
                raise MetaProtocolError(f"memcached {self.address}: reply too long") from exc
            finally:
                if conn is not None:
                    if healthy and not self._closed:
                        self._idle.append(conn)
                    else:
                        conn.close()

    async def mg(self, key: str, *flags: str) -> Reply:
        return (await self.execute([mg(key, *flags)]))[0]

    async def ms(self, key: str, value: bytes, *flags: str) -> Reply:
        return (await self.execute([ms(key, value, *flags)]))[0]

    async def md(self, key: str, *flags: str) -> Reply:
        return (await self.execute([md(key, *flags)]))[0]

    async def mn(self) -> None:
        (reply,) = await self.execute([MN])
        if reply.code != "MN":
            raise MetaProtocolError(f"mn answered {reply.code}")

    async def flush_all(self) -> None:
        (reply,) = await self.execute([b"flush_all\r\n"])
        if reply.code != "OK":
            raise MetaProtocolError(f"flush_all answered {reply.code}")

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        # Wait for the sockets to be released: a loop that ends right after
        # would otherwise find them still open (and warn) when it closes.
        for conn in idle:
            with contextlib.suppress(OSError, RuntimeError):
                await conn.writer.wait_closed()
