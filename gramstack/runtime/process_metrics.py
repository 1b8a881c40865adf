"""Prometheus samples shared by the prefork workers, at the cost of a memory
write per sample.

prometheus_client's multiprocess value keeps each process's samples in its
own mmap'd file (``<kind>_<pid>.db``) and /metrics merges the files, so any
worker answers for all. But it calls ``os.getpid()`` under a lock on every
increment to notice that it runs in a freshly forked child: a system call per
metric operation, 12 % of an anonymous media read. A process only becomes
another process at a fork, so here the switch to the child's own files is
done once, by a fork hook, and an increment is an add and a 16-byte store.
The file format, and the collector reading it, are prometheus_client's.

Workers run their event loop on one thread (metrics are never touched from
aiosqlite's helper threads), so a value takes no lock either.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

from prometheus_client import values
from prometheus_client.mmap_dict import MmapedDict, mmap_key


class _ProcessFiles:
    """This process's sample files, one per metric kind, and every value
    written to them (to move them to a child's own files after a fork)."""

    def __init__(self) -> None:
        self.directory = ""
        self.pid = os.getpid()
        self.files: dict[str, MmapedDict] = {}
        self.values: weakref.WeakSet[ForkResetValue] = weakref.WeakSet()

    def file(self, prefix: str) -> MmapedDict:
        found = self.files.get(prefix)
        if found is None:
            path = os.path.join(self.directory, f"{prefix}_{self.pid}.db")
            found = self.files[prefix] = MmapedDict(path)  # type: ignore[no-untyped-call]
        return found

    def after_fork_in_child(self) -> None:
        # The parent's maps stay the parent's: drop them unflushed, and start
        # this process's files from zero like a new process would.
        self.pid = os.getpid()
        for old in self.files.values():
            old.close()  # type: ignore[no-untyped-call]
        self.files.clear()
        for value in list(self.values):
            value.reopen()


_process = _ProcessFiles()
os.register_at_fork(after_in_child=_process.after_fork_in_child)


class ForkResetValue:
    """prometheus_client's value protocol (``inc``, ``set``, ``get``),
    stored in this process's file of ``_process``."""

    _multiprocess = True

    def __init__(
        self,
        typ: str,
        metric_name: str,
        name: str,
        labelnames: Any,
        labelvalues: Any,
        help_text: str,
        multiprocess_mode: str = "",
        **kwargs: Any,
    ) -> None:
        self._prefix = f"{typ}_{multiprocess_mode}" if typ == "gauge" else typ
        self._key = mmap_key(metric_name, name, labelnames, labelvalues, help_text)
        self.reopen()
        _process.values.add(self)

    def reopen(self) -> None:
        self._file = _process.file(self._prefix)
        self._value, self._timestamp = self._file.read_value(self._key)  # type: ignore[no-untyped-call]

    def inc(self, amount: float) -> None:
        self._value += amount
        self._file.write_value(self._key, self._value, 0.0)  # type: ignore[no-untyped-call]

    def set(self, value: float, timestamp: float | None = None) -> None:
        self._value = value
        self._timestamp = timestamp or 0.0
        self._file.write_value(self._key, value, self._timestamp)  # type: ignore[no-untyped-call]

    def get(self) -> float:
        return float(self._value)

    def set_exemplar(self, exemplar: Any) -> None:
        return None  # prometheus_client keeps no exemplars in multiprocess mode

    def get_exemplar(self) -> None:
        return None


def use_multiprocess_metrics(directory: Path) -> None:
    """Keep this process's and its forked children's samples under
    ``directory``, merged by ``/metrics``. Call before any metric is built:
    each takes the value class in force when it is created."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    _process.directory = str(directory)
    values.ValueClass = ForkResetValue
