from __future__ import annotations

import os
from pathlib import Path

import pytest

from gramstack.runtime.config import ConfigError, load_settings


def test_defaults_are_the_embedded_mode() -> None:
    settings = load_settings(environ={})
    assert settings.database_url == ""
    assert settings.cache_backend == "memory"
    assert settings.request_deadline_s == 12.0
    assert settings.max_upload_bytes == 20 * 1024 * 1024


def test_precedence_toml_then_env_then_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "g.toml"
    toml.write_text('port = 9000\nregion = "eu"\nworkers = 3\n')
    env = {"GRAMSTACK_CONFIG": str(toml), "GRAMSTACK_PORT": "9100"}
    settings = load_settings(environ=env, overrides={"workers": 5})
    assert (settings.port, settings.region, settings.workers) == (9100, "eu", 5)


@pytest.mark.parametrize(
    "env",
    [
        {"GRAMSTACK_PORT": "http"},
        {"GRAMSTACK_PORT": "70000"},
        {"GRAMSTACK_WORKERS": "0"},
        {"GRAMSTACK_CACHE_BACKEND": "redis"},
        {"GRAMSTACK_EXPOSE_BACKEND_HEADER": "perhaps"},
        {"GRAMSTACK_CONFIG": "/nonexistent/gramstack.toml"},
    ],
)
def test_bad_settings_fail_at_startup(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(environ=env)


def test_unknown_toml_key_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "g.toml"
    toml.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings(environ={"GRAMSTACK_CONFIG": str(toml)})


def test_memcached_servers_are_host_port_pairs() -> None:
    settings = load_settings(
        environ={
            "GRAMSTACK_CACHE_BACKEND": "memcached",
            "GRAMSTACK_MEMCACHED_SERVERS": "10.0.0.1:11211, cache-b:11212,:11213,[::1]:11214",
            "GRAMSTACK_MEMCACHED_GUTTER_SERVERS": "gutter:11211",
        }
    )
    assert settings.cache_backend == "memcached"
    assert settings.memcached_servers == (
        ("10.0.0.1", 11211),
        ("cache-b", 11212),
        ("127.0.0.1", 11213),
        ("::1", 11214),
    )
    assert settings.memcached_gutter_servers == (("gutter", 11211),)


def test_toml_may_list_servers_and_map_followers(tmp_path: Path) -> None:
    toml = tmp_path / "g.toml"
    toml.write_text(
        'database_url = "postgresql://leader/db"\n'
        'memcached_servers = ["a:1", "b:2"]\n'
        'metrics_dir = "/tmp/gramstack-metrics"\n'
        "[follower_urls]\n"
        'eu = "postgresql://eu/db"\n'
    )
    settings = load_settings(environ={"GRAMSTACK_CONFIG": str(toml)})
    assert settings.memcached_servers == (("a", 1), ("b", 2))
    assert settings.follower_urls == {"eu": "postgresql://eu/db"}
    assert settings.metrics_dir == Path("/tmp/gramstack-metrics")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GRAMSTACK_MEMCACHED_SERVERS": "cache-a"}, "memcached_servers"),
        ({"GRAMSTACK_MEMCACHED_SERVERS": "a:1,b:http"}, "memcached_servers"),
        ({"GRAMSTACK_MEMCACHED_GUTTER_SERVERS": "g:70000"}, "memcached_gutter_servers"),
        ({"GRAMSTACK_CACHE_BACKEND": "redis"}, "cache_backend"),
        ({"GRAMSTACK_CACHE_BACKEND": "memcached"}, "needs memcached_servers"),
        ({"GRAMSTACK_PORT": "http"}, "GRAMSTACK_PORT"),
    ],
)
def test_a_bad_value_is_named_in_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(environ=env)
    assert "\n" not in str(caught.value)


def test_metrics_dir_is_unset_until_a_forking_server_asks(tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path})
    assert settings.metrics_dir is None
    assert settings.with_metrics_dir().metrics_dir == tmp_path / "metrics"
    chosen = load_settings(environ={"GRAMSTACK_METRICS_DIR": str(tmp_path / "m")})
    assert chosen.with_metrics_dir().metrics_dir == tmp_path / "m"


def test_regions_and_their_pools_are_parsed_once() -> None:
    settings = load_settings(
        environ={
            "GRAMSTACK_REGIONS": "us,eu,ap",
            "GRAMSTACK_REGION": "eu",
            "GRAMSTACK_REGION_MEMCACHED": "us=127.0.0.1:11211|127.0.0.1:11212,eu=:11213",
            "GRAMSTACK_REGIONAL_URLS": "us=postgresql://a/x,eu=postgresql://b/x",
            "GRAMSTACK_WAN_DELAY_MS": "75",
        }
    )
    assert settings.all_regions == ("us", "eu", "ap")
    assert settings.region_memcached == {
        "us": (("127.0.0.1", 11211), ("127.0.0.1", 11212)),
        "eu": (("127.0.0.1", 11213),),
    }
    assert settings.regional_urls["eu"] == "postgresql://b/x"
    assert settings.wan_delay_ms == 75.0
    assert load_settings(environ={}).all_regions == ("local",)


@pytest.mark.parametrize(
    "environ",
    [
        {"GRAMSTACK_REGIONS": "us,eu", "GRAMSTACK_REGION": "ap"},
        {"GRAMSTACK_REGIONS": "us,e-u", "GRAMSTACK_REGION": "us"},
        {"GRAMSTACK_REGION_MEMCACHED": "mars=127.0.0.1:1"},
        {"GRAMSTACK_REGION_MEMCACHED": "local=127.0.0.1:http"},
        {"GRAMSTACK_WAN_DELAY_MS": "-1"},
        {"GRAMSTACK_PLACEMENT_THRESHOLD": "0.2"},
    ],
)
def test_bad_region_settings_stop_the_start(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(environ=environ)


def test_workers_default_to_one_per_usable_core() -> None:
    assert load_settings(environ={}).workers == len(os.sched_getaffinity(0))
