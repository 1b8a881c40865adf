"""The bounds that keep promises under faults: defaults and checks."""

from __future__ import annotations

import pytest

from gramstack.runtime.config import ConfigError, load_settings


def test_database_bounds_sit_below_the_request_deadline_by_default() -> None:
    settings = load_settings(environ={})
    assert settings.db_statement_timeout_s < settings.db_command_timeout_s
    assert settings.db_command_timeout_s < settings.request_deadline_s
    assert settings.db_unresponsive_after_s == 2.0
    assert settings.max_header_bytes == 64 * 1024
    assert settings.unavailable_retry_after_s >= 1


@pytest.mark.parametrize(
    "env",
    [
        {"GRAMSTACK_DB_COMMAND_TIMEOUT_S": "12"},  # not below the 12 s deadline
        {"GRAMSTACK_DB_COMMAND_TIMEOUT_S": "0"},
        {"GRAMSTACK_DB_STATEMENT_TIMEOUT_S": "6"},  # above the client's bound
        {"GRAMSTACK_DB_UNRESPONSIVE_AFTER_S": "0"},
        {"GRAMSTACK_MAX_HEADER_BYTES": "100"},
        {"GRAMSTACK_UNAVAILABLE_RETRY_AFTER_S": "0"},
        {"GRAMSTACK_INVALIDATOR_SLOT_LAG_EVERY_S": "0"},
    ],
)
def test_bounds_out_of_range_fail_at_startup(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(environ=env)
