"""The top of a py-spy profile, as Markdown tables.

Reads py-spy's ``--format raw`` output (collapsed stacks: ``frame;frame;...
count`` per line) and prints the functions with the most samples of their
own (self) and in total (inclusive), optionally only over the stacks that
pass through a given function (``--within home_feed``: the feed handler).

Run: ``.venv/bin/python bench/profile_top.py server.collapsed --within home_feed``.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# py-spy names a frame "function (path/to/file.py:123)"; the line number is
# dropped so that one function's lines add up.
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "gramstack/", "lib/python3"):
        if marker in path:
            path = path[path.index(marker) :]
            break
    return f"{match['func']} ({path})"


def load(path: Path, within: str | None) -> tuple[Counter[str], Counter[str], int]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";") if f.strip()]
        # Process and thread pseudo-frames from --subprocesses/--threads.
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if within is not None:
            names = [f.split(" (")[0] for f in frames]
            if within not in names:
                continue
        count = int(count_text)
        samples += count
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return own, total, samples


def _table(title: str, counts: Counter[str], samples: int, top: int) -> str:
    lines = [f"| {title} | samples | share |", "|---|---:|---:|"]
    for name, count in counts.most_common(top):
        lines.append(f"| `{name}` | {count} | {count / samples:.1%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path, help="py-spy record --format raw output")
    parser.add_argument("--within", help="only stacks through this function (e.g. home_feed)")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    own, total, samples = load(args.profile, args.within)
    if not samples:
        raise SystemExit("no samples matched")
    scope = f" within `{args.within}`" if args.within else ""
    print(f"{samples} samples{scope}\n")
    print(_table("function (self)", own, samples, args.top))
    print()
    print(_table("function (inclusive)", total, samples, args.top))


if __name__ == "__main__":
    main()
