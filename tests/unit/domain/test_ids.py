from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gramstack.domain.ids import (
    EPOCH_MS,
    MAX_SEQUENCE,
    MAX_SHARD,
    IdGenerator,
    compose_id,
    id_parts,
    id_unix_ms,
    lowest_id_at,
)

times = st.integers(min_value=0, max_value=(1 << 41) - 1)
shards = st.integers(min_value=0, max_value=MAX_SHARD)
sequences = st.integers(min_value=0, max_value=MAX_SEQUENCE)


@given(times, shards, sequences)
def test_compose_and_parts_round_trip(ms: int, shard: int, seq: int) -> None:
    ident = compose_id(ms, shard, seq)
    assert 0 <= ident < 2**63 or ms >= 1 << 40  # positive int64 until 2060
    assert id_parts(ident) == (ms, shard, seq)


@given(times, times, shards, shards, sequences, sequences)
def test_ids_sort_by_time_first(t1: int, t2: int, s1: int, s2: int, q1: int, q2: int) -> None:
    if t1 < t2:
        assert compose_id(t1, s1, q1) < compose_id(t2, s2, q2)


@given(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=3000))
def test_generator_is_unique_and_increasing_under_any_clock(steps: list[int]) -> None:
    """Clock that stands still, jumps, or goes back: IDs never repeat or decrease."""
    now = [EPOCH_MS + 10_000]

    def clock() -> int:
        return now[0]

    gen = IdGenerator(shard=7, clock_ms=clock)
    previous = -1
    for step in steps:
        now[0] += step - 1  # -1 means the clock stepped back
        ident = gen.next_id()
        assert ident > previous
        assert id_parts(ident)[1] == 7
        previous = ident


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=2), st.booleans()), max_size=3000))
def test_a_pair_reserves_its_successor_under_any_clock(steps: list[tuple[int, bool]]) -> None:
    """Singles and pairs mixed, the clock standing still, jumping or going
    back: no ID is handed out twice, counting each pair's reserved successor."""
    now = [EPOCH_MS + 10_000]
    gen = IdGenerator(shard=3, clock_ms=lambda: now[0])
    taken: list[int] = []
    for step, pair in steps:
        now[0] += step - 1
        if pair:
            first = gen.next_id_pair()
            assert id_parts(first + 1)[:2] == id_parts(first)[:2]  # same ms and shard
            taken += [first, first + 1]
        else:
            taken.append(gen.next_id())
    assert taken == sorted(set(taken))


def test_more_than_a_millisecond_of_sequence_borrows_the_next_millisecond() -> None:
    gen = IdGenerator(shard=1, clock_ms=lambda: EPOCH_MS + 5)
    ids = [gen.next_id() for _ in range(MAX_SEQUENCE + 3)]
    assert len(set(ids)) == len(ids)
    assert id_parts(ids[-1])[0] == 6


def test_id_time_matches_the_clock() -> None:
    gen = IdGenerator(shard=0, clock_ms=lambda: EPOCH_MS + 123_456)
    ident = gen.next_id()
    assert id_unix_ms(ident) == EPOCH_MS + 123_456
    assert lowest_id_at(EPOCH_MS + 123_456) <= ident < lowest_id_at(EPOCH_MS + 123_457)


def test_threads_share_a_generator_without_duplicates() -> None:
    gen = IdGenerator(shard=3)
    results: list[list[int]] = [[] for _ in range(8)]

    def work(bucket: list[int]) -> None:
        bucket.extend(gen.next_id() for _ in range(5000))

    threads = [threading.Thread(target=work, args=(b,)) for b in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_ids = [i for bucket in results for i in bucket]
    assert len(set(all_ids)) == len(all_ids) == 40_000


@pytest.mark.parametrize(
    ("ms", "shard", "seq"), [(-1, 0, 0), (0, MAX_SHARD + 1, 0), (0, 0, MAX_SEQUENCE + 1)]
)
def test_compose_rejects_out_of_range(ms: int, shard: int, seq: int) -> None:
    with pytest.raises(ValueError):
        compose_id(ms, shard, seq)
