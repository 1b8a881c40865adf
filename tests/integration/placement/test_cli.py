"""``gramstack placement show | move | evaluate`` against a real data directory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gramstack.cli import main
from gramstack.runtime.config import load_settings
from gramstack.runtime.wiring import open_backends


async def _make_user(data_dir: Path) -> int:
    environ = {"GRAMSTACK_DATA_DIR": str(data_dir), "GRAMSTACK_REGIONS": "us,eu"}
    settings = load_settings({**environ, "GRAMSTACK_REGION": "us"})
    async with open_backends(settings) as running:
        b = running.backends
        user = await b.store.accounts.create_user(b.next_id(), "ann", "x", "", b.clock_ms())
        assert user is not None
        await b.placement.place_new_user(user.id)
        return user.id


def test_show_move_and_evaluate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in {"DATA_DIR": str(tmp_path), "REGIONS": "us,eu", "REGION": "us"}.items():
        monkeypatch.setenv(f"GRAMSTACK_{key}", value)
    user_id = asyncio.run(_make_user(tmp_path))

    assert main(["placement", "show", "ann"]) == 0
    assert f"user {user_id}\n  region=us state=placed epoch=1" in capsys.readouterr().out

    assert main(["placement", "move", "ann", "mars"]) == 1
    assert "one of us,eu" in capsys.readouterr().err
    assert main(["placement", "show", "nobody"]) == 1
    assert "no such user" in capsys.readouterr().err

    assert main(["placement", "move", str(user_id), "eu"]) == 0
    assert f"moving user {user_id} to eu" in capsys.readouterr().out
    assert main(["placement", "evaluate"]) == 0
    assert "no user to move" in capsys.readouterr().out
