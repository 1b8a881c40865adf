from __future__ import annotations

from datetime import datetime, timedelta
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.speedups.conftest import load

FIRST_MS = -62135596800000  # 0001-01-01T00:00:00.000Z
END_MS = 253402300800000  # 10000-01-01T00:00:00.000Z


@pytest.fixture(scope="module")
def timefmt(implementation: str) -> ModuleType:
    return load("timefmt", implementation)


def _reference(ms: int) -> str:
    moment = datetime(1970, 1, 1) + timedelta(milliseconds=ms)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{ms % 1000:03d}Z"
    )


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_767_225_600_000, "2026-01-01T00:00:00.000Z"),
        (1_767_225_600_007, "2026-01-01T00:00:00.007Z"),
        (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
        (951_868_799_999, "2000-02-29T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-86_400_000, "1969-12-31T00:00:00.000Z"),
        (FIRST_MS, "0001-01-01T00:00:00.000Z"),
        (END_MS - 1, "9999-12-31T23:59:59.999Z"),
    ],
)
def test_known_times(timefmt: ModuleType, ms: int, text: str) -> None:
    assert timefmt.format_timestamp(ms) == text


@given(ms=st.integers(min_value=FIRST_MS, max_value=END_MS - 1))
def test_matches_datetime(timefmt: ModuleType, ms: int) -> None:
    assert timefmt.format_timestamp(ms) == _reference(ms)


@pytest.mark.parametrize("ms", [FIRST_MS - 1, END_MS, 2**63 - 1, -(2**63), 2**64])
def test_times_datetime_cannot_hold_overflow(timefmt: ModuleType, ms: int) -> None:
    with pytest.raises(OverflowError):
        timefmt.format_timestamp(ms)
