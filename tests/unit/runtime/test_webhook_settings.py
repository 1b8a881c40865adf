from __future__ import annotations

import pytest

from gramstack.runtime.config import ConfigError, load_settings


def test_webhook_settings_default_to_safe_values() -> None:
    settings = load_settings(environ={})
    assert settings.webhook_deadline_s == 5.0
    assert settings.webhook_allow_private is False
    assert settings.webhook_max_attempts >= 1


def test_webhook_settings_are_read_and_checked() -> None:
    settings = load_settings(
        environ={"GRAMSTACK_WEBHOOK_ALLOW_PRIVATE": "1", "GRAMSTACK_WEBHOOK_DEADLINE_S": "0.5"}
    )
    assert settings.webhook_allow_private is True
    assert settings.webhook_deadline_s == 0.5
    for name, value in [
        ("DEADLINE_S", "0"),
        ("MAX_ATTEMPTS", "0"),
        ("BREAKER_FAILURES", "0"),
        ("MAX_IN_FLIGHT", "0"),
    ]:
        with pytest.raises(ConfigError, match=f"webhook_{name.lower()}"):
            load_settings(environ={f"GRAMSTACK_WEBHOOK_{name}": value})
