from __future__ import annotations

import math

from gramstack.placement.policy import PlacementPolicy

POLICY = PlacementPolicy(threshold=0.7, window_s=10, min_reads=20)


def test_moves_when_another_region_has_the_share() -> None:
    assert POLICY.choose({"us": 5, "eu": 25}, current="us") == "eu"


def test_stays_below_the_threshold_or_the_minimum() -> None:
    assert POLICY.choose({"us": 10, "eu": 20}, current="us") is None  # 67 %
    assert POLICY.choose({"eu": 19}, current="us") is None  # too few reads
    assert POLICY.choose({"us": 100}, current="us") is None  # already there


def test_reads_decay_over_the_window() -> None:
    decay = POLICY.decay_to(now_ms=20_000)
    assert math.isclose(decay(10.0, 10_000), 10 / math.e)
    assert decay(10.0, 20_000) == 10.0
    assert decay(10.0, 30_000) == 10.0  # a clock behind never grows a score


def test_a_user_moved_within_the_cooldown_stays() -> None:
    policy = PlacementPolicy(threshold=0.7, window_s=10, min_reads=20, cooldown_s=3600)
    back_home = {"us": 25, "eu": 5}  # would move back to us, were it allowed
    assert policy.choose(back_home, current="eu", since_move_ms=0) is None
    assert policy.choose(back_home, current="eu", since_move_ms=3_599_999) is None
    assert policy.choose(back_home, current="eu", since_move_ms=3_600_000) == "us"
    assert policy.choose(back_home, current="eu", since_move_ms=None) == "us"  # never moved
    # Without a cooldown (the default of the policy alone) the scores decide.
    assert POLICY.choose(back_home, current="eu", since_move_ms=0) == "us"
