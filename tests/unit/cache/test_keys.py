"""The page-at-once key builders spell every key as the single ones do."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gramstack.cache import keys

_IDS = st.lists(st.integers(min_value=1, max_value=2**63 - 1), max_size=25)
_ID = st.integers(min_value=1, max_value=2**63 - 1)


@given(_IDS)
def test_user_and_media_keys_match_the_single_builders(ids: list[int]) -> None:
    assert keys.user_keys(ids) == {keys.user_key(i): i for i in ids}
    assert keys.media_keys(ids) == {keys.media_key(i): i for i in ids}


@given(_ID, _IDS)
def test_flag_keys_match_the_single_builders(viewer: int, ids: list[int]) -> None:
    assert keys.liked_keys(viewer, ids) == {keys.liked_key(viewer, i): i for i in ids}
    assert keys.follows_keys(viewer, ids) == {keys.follows_key(viewer, i): i for i in ids}


def test_a_viewer_s_flags_are_keyed_apart_from_another_s() -> None:
    assert not keys.liked_keys(1, [23]).keys() & keys.liked_keys(12, [3]).keys()


def test_keys_stay_right_past_the_remembered_decimals() -> None:
    # More IDs than the memo keeps: it is emptied and refilled on the way,
    # and IDs seen before and after that spell the same keys.
    ids = list(range(10**17, 10**17 + 3 * keys._DECIMALS_KEPT))
    for _ in range(2):
        assert keys.media_keys(ids) == {keys.media_key(i): i for i in ids}
        assert keys.liked_keys(7, ids[::-1]) == {keys.liked_key(7, i): i for i in ids[::-1]}
    assert len(keys._decimals) <= keys._DECIMALS_KEPT
