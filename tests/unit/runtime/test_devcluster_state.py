"""The dev cluster's settings and state file, without starting servers
(tests/integration/devcluster starts real ones)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from gramstack.cli import main
from gramstack.runtime.config import load_settings
from gramstack.runtime.devcluster import (
    ClusterState,
    MemcachedNode,
    Node,
    RegionalCluster,
    export_lines,
    parse_regions,
)
from gramstack.runtime.devcluster.postgres import DevClusterError


def _state(directory: Path) -> ClusterState:
    regions = ["us", "eu"]
    return ClusterState(
        directory=str(directory),
        bindir="/usr/lib/postgresql/15/bin",
        user=None,
        leader=Node("leader", 5000, str(directory / "leader")),
        followers=[
            Node(r, 5001 + i, str(directory / f"follower-{r}")) for i, r in enumerate(regions)
        ],
        regions=regions,
        regional=[
            RegionalCluster(
                r,
                Node(f"regional-{r}-leader", 5010 + i, str(directory / f"regional-{r}-leader")),
                Node(f"regional-{r}-follower", 5020 + i, str(directory / f"regional-{r}-follower")),
            )
            for i, r in enumerate(regions)
        ],
        memcached=[
            MemcachedNode("us", 11211, 100),
            MemcachedNode("us", 11212, 101),
            MemcachedNode("eu", 11213, 102),
        ],
    )


def test_settings_per_home_region(tmp_path: Path) -> None:
    state = _state(tmp_path)
    eu = state.env_for("eu")
    assert eu["GRAMSTACK_REGIONS"] == "us,eu"
    assert eu["GRAMSTACK_REGION"] == "eu"
    assert eu["GRAMSTACK_DATABASE_URL"] == "postgresql://gramstack@127.0.0.1:5000/gramstack"
    assert eu["GRAMSTACK_FOLLOWER_URLS"] == (
        "us=postgresql://gramstack@127.0.0.1:5001/gramstack,"
        "eu=postgresql://gramstack@127.0.0.1:5002/gramstack"
    )
    assert eu["GRAMSTACK_REGIONAL_URLS"].endswith(
        "eu=postgresql://gramstack@127.0.0.1:5011/gramstack"
    )
    assert eu["GRAMSTACK_REGIONAL_FOLLOWER_URLS"].startswith(
        "us=postgresql://gramstack@127.0.0.1:5020/gramstack,"
    )
    # Several servers of one pool: "|" inside a region, "," between regions.
    assert eu["GRAMSTACK_REGION_MEMCACHED"] == (
        "us=127.0.0.1:11211|127.0.0.1:11212,eu=127.0.0.1:11213"
    )
    assert eu["GRAMSTACK_MEMCACHED_SERVERS"] == "127.0.0.1:11213"
    assert state.env_for("us")["GRAMSTACK_MEMCACHED_SERVERS"] == "127.0.0.1:11211,127.0.0.1:11212"
    assert eu["GRAMSTACK_INVALIDATOR_SLOT"] != state.env_for("us")["GRAMSTACK_INVALIDATOR_SLOT"]
    with pytest.raises(KeyError):
        state.env_for("ap")


def test_settings_load_in_todays_config(tmp_path: Path) -> None:
    # What the server reads today (the regional settings are for the code
    # that issue 13 adds; unknown names are ignored by load_settings).
    settings = load_settings(environ=_state(tmp_path).env_for("eu"))
    assert settings.region == "eu"
    assert settings.cache_backend == "memcached"
    assert list(settings.follower_urls) == ["us", "eu"]


def test_state_file_round_trip(tmp_path: Path) -> None:
    state = _state(tmp_path)
    state.save()
    assert ClusterState.load(tmp_path) == state


def test_followers_shape_keeps_its_two_settings(tmp_path: Path) -> None:
    state = ClusterState(str(tmp_path), "/bin", None, Node("leader", 5000, "d"))
    state.followers.append(Node("local", 5001, "f"))
    assert set(state.env) == {"GRAMSTACK_DATABASE_URL", "GRAMSTACK_FOLLOWER_URLS"}
    assert export_lines(state) == [f"export {k}={v}" for k, v in state.env.items()]


def test_export_lines_are_shell(tmp_path: Path) -> None:
    state = _state(tmp_path)
    active = {}
    for line in export_lines(state):
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            (active[key],) = shlex.split(value)  # "|" is quoted, not a pipe
    assert active == state.env_for("us")


@pytest.mark.parametrize("text", ["", " , ", "us,us", "us-east", "eu,ap;rm"])
def test_bad_region_lists_are_refused(text: str) -> None:
    with pytest.raises(DevClusterError):
        parse_regions(text)


def test_region_list() -> None:
    assert parse_regions(" us, eu ,ap") == ["us", "eu", "ap"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regions", "us,eu", "--followers", "2"], "leave out --followers"),
        (["--regions", "us-east"], "must be a simple name"),
    ],
)
def test_cli_refuses_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["dev-cluster", "up", *args, "--dir", str(tmp_path / "c")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
