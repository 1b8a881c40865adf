"""Decoding wal2json's format-version 2 messages into row changes.

One JSON object per message: ``B`` (begin) and ``C`` (commit) frame a
transaction; ``I``/``U``/``D`` carry the new row in ``columns`` and the old
row (its replica identity) in ``identity``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Action = Literal["insert", "update", "delete"]
_ACTIONS: dict[str, Action] = {"I": "insert", "U": "update", "D": "delete"}

# Options asked of the plugin; ``decode`` relies on them.
PLUGIN_OPTIONS = {
    "format-version": "2",
    "include-transaction": "1",
    "include-timestamp": "1",
    "include-lsn": "1",
}


@dataclass(frozen=True, slots=True)
class RowChange:
    table: str
    action: Action
    new: dict[str, Any] | None
    old: dict[str, Any] | None

    def value(self, column: str) -> Any:
        """The column's value in the new row, else in the old one."""
        for row in (self.new, self.old):
            if row is not None and column in row:
                return row[column]
        return None


@dataclass(frozen=True, slots=True)
class Commit:
    lsn: int
    committed_at: float  # Unix seconds


@dataclass(frozen=True, slots=True)
class Begin:
    pass


Event = RowChange | Commit | Begin | None


def parse_lsn(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def _timestamp(text: str) -> float:
    # wal2json writes "2026-11-25 05:01:02.123456+00"
    cleaned = text.replace(" ", "T", 1)
    if cleaned.endswith(("+00", "-00")):
        cleaned += ":00"
    return datetime.fromisoformat(cleaned).timestamp()


def _row(columns: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if columns is None:
        return None
    return {column["name"]: column.get("value") for column in columns}


def decode(payload: str | bytes) -> Event:
    """One wal2json message as an event; messages of no interest give None."""
    message = json.loads(payload)
    action = message.get("action")
    if action == "B":
        return Begin()
    if action == "C":
        return Commit(parse_lsn(message["lsn"]), _timestamp(message["timestamp"]))
    if action in _ACTIONS:
        return RowChange(
            table=message["table"],
            action=_ACTIONS[action],
            new=_row(message.get("columns")),
            old=_row(message.get("identity")),
        )
    return None  # truncate, logical messages
