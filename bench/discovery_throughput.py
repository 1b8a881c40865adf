"""Requests/s of ``GET /api/v1/explore`` and ``GET /api/v1/tags/{name}/media``
(and ``/tags/{name}``) as a share of ``GET /api/v1/media/{id}``, on one
server in one run (issue 15 asks for the shares). Seeds 40 posts by several
accounts with one hashtag and some likes and comments, then measures each
target in alternating rounds; the best round of each counts.

Run: ``.venv/bin/python -m bench.discovery_throughput``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api_throughput import API, PASSWORD, _auth, _hammer, _jpeg  # noqa: E402
from tests.support.server import start_server  # noqa: E402


def _seed(base_url: str, posters: int = 4, posts: int = 10) -> tuple[str, str]:
    """(a viewer's token, one media ID)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def signup(name: str) -> str:
            response = client.post(f"{API}/accounts", json={"username": name, "password": PASSWORD})
            response.raise_for_status()
            token: str = response.json()["token"]
            return token

        viewer = signup("viewer")
        media_ids: list[str] = []
        for p in range(posters):
            token = signup(f"poster{p}")
            for n in range(posts):
                posted = client.post(
                    f"{API}/media",
                    headers=_auth(token),
                    files={"file": ("a.jpg", _jpeg(n), "image/jpeg")},
                    data={"caption": f"post {n} #bench #sunset"},
                )
                posted.raise_for_status()
                media_ids.append(posted.json()["id"])
        for i, media_id in enumerate(media_ids[::3]):
            client.put(f"{API}/media/{media_id}/like", headers=_auth(viewer)).raise_for_status()
            if i % 2:
                client.post(
                    f"{API}/media/{media_id}/comments", headers=_auth(viewer), json={"text": "ok"}
                ).raise_for_status()
        return viewer, media_ids[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    env = {"GRAMSTACK_LOG_LEVEL": "warning"}
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gramstack-discovery-") as tmp:
        server = start_server(Path(tmp) / "server", env=env, workers=2)
        try:
            token, media_id = _seed(server.base_url)
            targets = {
                "media": f"{API}/media/{media_id}",
                "explore": f"{API}/explore",
                "tag_media": f"{API}/tags/bench/media",
                "tag": f"{API}/tags/bench",
            }
            for _ in range(args.rounds):
                for name, path in targets.items():
                    rate = asyncio.run(
                        _hammer(
                            server.base_url, path, _auth(token), args.requests, args.concurrency
                        )
                    )
                    best[name] = max(best.get(name, 0.0), rate)
        finally:
            server.stop()
    clients, rounds = args.concurrency, args.rounds
    print(f"2 workers, SQLite, in-process cache, {clients} clients, best of {rounds}:")
    report = {}
    for name, rate in best.items():
        share = rate / best["media"]
        report[name] = {"requests_per_s": round(rate), "share_of_media": round(share, 2)}
        print(f"  {name:10} {rate:7.0f}/s  {share:5.2f} x GET /media/{{id}}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
