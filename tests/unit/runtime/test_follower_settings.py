from __future__ import annotations

import pytest

from gramstack.runtime.config import ConfigError, load_settings


def test_follower_urls_are_region_dsn_pairs() -> None:
    settings = load_settings(
        environ={
            "GRAMSTACK_DATABASE_URL": "postgresql://leader/db",
            "GRAMSTACK_FOLLOWER_URLS": "local=postgresql://a/db?x=1, eu=postgresql://b/db",
        }
    )
    assert settings.follower_urls == {
        "local": "postgresql://a/db?x=1",
        "eu": "postgresql://b/db",
    }


@pytest.mark.parametrize("urls", ["postgresql://a/db", "=postgresql://a/db", "eu="])
def test_malformed_follower_urls_are_refused(urls: str) -> None:
    with pytest.raises(ConfigError, match="follower_urls"):
        load_settings(
            environ={"GRAMSTACK_DATABASE_URL": "postgresql://l/db", "GRAMSTACK_FOLLOWER_URLS": urls}
        )


def test_a_malformed_follower_is_refused_without_echoing_its_dsn() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            environ={
                "GRAMSTACK_DATABASE_URL": "postgresql://l/db",
                "GRAMSTACK_FOLLOWER_URLS": "eu=postgresql://a/db,postgresql://u:secret@b/db",
            }
        )
    assert "item 2" in str(caught.value) and "secret" not in str(caught.value)
