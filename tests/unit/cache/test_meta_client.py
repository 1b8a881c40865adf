from __future__ import annotations

import asyncio
import socket
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gramstack.cache.meta_client import MetaClient, md, mg, ms, wire_key
from gramstack.cache.ports import CacheUnavailable
from gramstack.runtime.devcluster.memcached import (
    MemcachedProcess,
    start_memcached,
    stop_memcached,
)


def _client(server: MemcachedProcess, **options: float) -> MetaClient:
    return MetaClient("127.0.0.1", server.port, **options)  # type: ignore[arg-type]


def test_plain_keys_go_as_they_are_and_others_as_base64() -> None:
    assert wire_key("v1:media:42") == (b"v1:media:42", False)
    assert wire_key("has space")[1]
    assert wire_key("ünï")[1]
    encoded, binary = wire_key("x" * 400)
    assert binary and len(encoded) <= 250


@given(
    key=st.text(max_size=260)
    | st.text(st.characters(min_codepoint=0x1F, max_codepoint=0x80), max_size=260)
)
def test_a_key_goes_as_it_is_exactly_when_every_byte_is_printable_ascii_but_space(
    key: str,
) -> None:
    raw = key.encode()
    encoded, binary = wire_key(key)
    if len(raw) <= 250 and all(0x21 <= c <= 0x7E for c in raw):
        assert (encoded, binary) == (raw, False)
    else:
        assert binary


async def test_a_pipeline_gets_one_reply_per_command_in_order(
    memcached_server: MemcachedProcess,
) -> None:
    client = _client(memcached_server)
    keys = [f"pipe:{uuid.uuid4().hex}:{i}" for i in range(50)]
    commands = [ms(k, k.encode(), "T60") for k in keys] + [mg(k, "v") for k in keys]
    replies = await client.execute(commands)
    assert [r.code for r in replies[:50]] == ["HD"] * 50
    assert [r.value for r in replies[50:]] == [k.encode() for k in keys]
    quiet = await client.execute([md(k, "q") for k in keys], quiet=True)
    assert quiet == []  # quiet deletes that succeed say nothing
    await client.mn()
    await client.close()


async def test_binary_keys_round_trip(memcached_server: MemcachedProcess) -> None:
    client = _client(memcached_server)
    for key in ["with space " + uuid.uuid4().hex, "ü" + uuid.uuid4().hex, "l" * 300]:
        assert (await client.ms(key, b"ok", "T60")).code == "HD"
        assert (await client.mg(key, "v")).value == b"ok"
    await client.close()


async def test_a_silent_server_times_out_and_the_client_recovers() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = MetaClient("127.0.0.1", silent.getsockname()[1], timeout_s=0.2)
        started = time.monotonic()
        with pytest.raises(CacheUnavailable):
            await client.mg("k", "v")
        assert time.monotonic() - started < 1
        await client.close()


async def test_the_client_reconnects_after_the_server_restarts() -> None:
    server = start_memcached()
    client = _client(server)
    await client.ms("k", b"v", "T60")
    stop_memcached(server, hard=True)
    with pytest.raises(CacheUnavailable):
        await client.mg("k", "v")
    again = start_memcached(port=server.port)
    try:
        for _ in range(20):  # the pool's old connections are dropped as they fail
            try:
                assert (await client.mg("k", "v")).code == "EN"
                break
            except CacheUnavailable:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("client did not reconnect")
    finally:
        await client.close()
        stop_memcached(again)
