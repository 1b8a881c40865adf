"""Why a worker's memory is private: each page of the master's heap that a
worker no longer shares, compared byte for byte with the master's copy and
matched with the objects the master had on it.

Starts ``gramstack serve`` as ``bench.memory_bench`` does (preload+freeze);
before the master's first fork a throwaway child of it writes the address,
kind and size of every object it reaches. After the same warm-up, for worker
0, every page of the master's ``[heap]`` and anonymous mappings that is
neither the master's nor worker 1's physical page (so private to worker 0)
is put under one cause:

- code specialised: bytes inside a code object changed (CPython 3.11 rewrites
  bytecode in place as it specialises it for the types it meets);
- reference counts only: every changed word is an object's first word;
- touched, restored: no byte differs (a count raised and dropped again);
- inside other objects: e.g. a lock, the random generator's state;
- allocator, dict tables, C buffers: words of no object the master reached.

Needs root (physical page numbers in /proc/PID/pagemap).
Run: ``.venv/bin/python -m bench.memory_pages [--rounds 300]``.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import gc
import os
import pickle
import struct
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE = 4096
OBJECT_MAP_ENV = "GRAMSTACK_BENCH_OBJECT_MAP"
Objects = dict[int, tuple[str, int]]


def _describe(obj: Any) -> str:
    if isinstance(obj, types.CodeType):
        return f"code {Path(obj.co_filename).name}"
    if isinstance(obj, types.FunctionType):
        return f"function {obj.__module__}"
    return type(obj).__name__


def install_object_map(path: Path) -> None:
    """In the server process: before the first fork, a throwaway child of
    the master (same addresses, the master's heap untouched) writes the map."""
    import gramstack.runtime.prefork as prefork

    pre_fork = prefork._pre_fork
    written: list[bool] = []

    def pre_fork_with_map(server: Any, worker: Any) -> None:
        pre_fork(server, worker)
        if written:
            return
        written.append(True)
        if os.fork():
            os.wait()
            return
        objects: Objects = {}
        found = [*gc.get_objects(), *sys.modules.values()]
        while found:
            obj = found.pop()
            if id(obj) not in objects:
                size = 0 if isinstance(obj, type) else sys.getsizeof(obj)
                objects[id(obj)] = (_describe(obj), size)
                found.extend(gc.get_referents(obj))
        path.write_bytes(pickle.dumps(objects))
        os._exit(0)

    prefork._pre_fork = pre_fork_with_map


def _maps(pid: int) -> list[tuple[int, int, str]]:
    found = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split(None, 5)
        start, end = (int(x, 16) for x in fields[0].split("-"))
        found.append((start, end, fields[5] if len(fields) > 5 else "[anon]"))
    return found


def _frames(pid: int, start: int, end: int) -> list[int | None]:
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        pagemap.seek(start // PAGE * 8)
        entries = struct.iter_unpack("<Q", pagemap.read((end - start) // PAGE * 8))
        frames = [e & ((1 << 55) - 1) if e >> 63 else None for (e,) in entries]
    if any(frame == 0 for frame in frames):
        sys.exit("physical page numbers are hidden: run as root")
    return frames


def private_pages(master: int, worker: int, other: int) -> list[tuple[int, list[int]]]:
    """(address, offsets of the changed 8-byte words) of each page of the
    master's heap private to ``worker``."""
    pages = []
    master_maps = [m for m in _maps(master) if m[2] in ("[heap]", "[anon]")]
    with open(f"/proc/{master}/mem", "rb") as theirs, open(f"/proc/{worker}/mem", "rb") as ours:
        for start, end, name in _maps(worker):
            for m_start, m_end, m_name in master_maps:
                low, high = max(start, m_start), min(end, m_end)
                if m_name != name or low >= high:
                    continue
                frames = zip(
                    _frames(worker, low, high),
                    _frames(master, low, high),
                    _frames(other, low, high),
                    strict=True,
                )
                for n, (mine, masters, others) in enumerate(frames):
                    if mine is None or masters is None or mine in (masters, others):
                        continue
                    address = low + n * PAGE
                    theirs.seek(address)
                    ours.seek(address)
                    a, b = theirs.read(PAGE), ours.read(PAGE)
                    changed = [i for i in range(0, PAGE, 8) if a[i : i + 8] != b[i : i + 8]]
                    pages.append((address, changed))
    return pages


def classify(pages: list[tuple[int, list[int]]], objects: Objects) -> None:
    starts = sorted(objects)

    def owner(address: int) -> tuple[str, str]:
        if address in objects:
            return "start", objects[address][0]
        k = bisect.bisect_right(starts, address) - 1
        if k >= 0 and address < starts[k] + max(objects[starts[k]][1], 16):
            return "inside", objects[starts[k]][0]
        return "none", ""

    causes: collections.Counter[str] = collections.Counter()
    code_files: collections.Counter[str] = collections.Counter()
    for address, changed in pages:
        owners = [owner(address + offset) for offset in changed]
        code = {
            kind[5:] for where, kind in owners if where == "inside" and kind.startswith("code ")
        }
        if not changed:
            cause = "touched, restored"
        elif code:
            cause = "code specialised"
            code_files.update(code)
        elif all(where == "start" for where, _ in owners):
            cause = "reference counts only"
        elif any(where == "none" for where, _ in owners):
            cause = "allocator, dict tables, C buffers"
        else:
            cause = "inside other objects"
        causes[cause] += 1
    mib = len(pages) * 4 / 1024
    print(f"worker 0: {len(pages)} pages of the master's heap private ({mib:.1f} MiB)")
    for cause, count in causes.most_common():
        print(f"  {cause:<36} {count:6d} pages {count * 4 / 1024:6.1f} MiB")
    print(
        "  code specialised, pages by file:",
        ", ".join(f"{f} {n}" for f, n in code_files.most_common(15)),
    )


def main() -> None:
    from bench.memory_bench import FREEZE_AFTER_S, _start, _warm_up, _worker_pids

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=300, help="warm-up requests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gramstack-memory-pages-") as tmp:
        object_map = Path(tmp) / "objects.pickle"
        server = _start(
            "preload+freeze", Path(tmp) / "server", 2, {OBJECT_MAP_ENV: str(object_map)}
        )
        try:
            worker, other = _worker_pids(server)
            _warm_up(server.base_url, args.rounds)
            time.sleep(FREEZE_AFTER_S + 1)
            pages = private_pages(server.process.pid, worker, other)
        finally:
            server.stop()
        objects: Objects = pickle.loads(object_map.read_bytes())
    classify(pages, objects)


if __name__ == "__main__":
    main()
