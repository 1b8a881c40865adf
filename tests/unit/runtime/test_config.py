from __future__ import annotations

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
