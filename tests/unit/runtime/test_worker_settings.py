"""Settings of the job worker and of each region's cache pool."""

from __future__ import annotations

import pytest

from gramstack.runtime.config import ConfigError, load_settings


def test_jobs_run_in_the_server_unless_turned_off() -> None:
    assert load_settings(environ={}).run_jobs_in_server is True
    settings = load_settings(
        environ={"GRAMSTACK_RUN_JOBS_IN_SERVER": "0", "GRAMSTACK_JOB_CLAIM_S": "2.5"}
    )
    assert settings.run_jobs_in_server is False
    assert settings.job_claim_s == 2.5


def test_a_claim_shorter_than_a_second_is_refused() -> None:
    with pytest.raises(ConfigError, match="job_claim_s"):
        load_settings(environ={"GRAMSTACK_JOB_CLAIM_S": "0.1"})


def test_a_process_without_memcached_servers_uses_its_region_pool() -> None:
    env = {
        "GRAMSTACK_REGIONS": "us,eu",
        "GRAMSTACK_REGION": "eu",
        "GRAMSTACK_REGION_MEMCACHED": "us=127.0.0.1:1,eu=127.0.0.1:2|127.0.0.1:3",
        "GRAMSTACK_CACHE_BACKEND": "memcached",
    }
    settings = load_settings(environ=env)
    assert settings.memcached_servers == ()
    assert settings.with_home_memcached().memcached_servers == (
        ("127.0.0.1", 2),
        ("127.0.0.1", 3),
    )
    # Named servers win over the region's pool.
    named = load_settings(environ={**env, "GRAMSTACK_MEMCACHED_SERVERS": "127.0.0.1:9"})
    assert named.with_home_memcached().memcached_servers == (("127.0.0.1", 9),)


def test_memcached_without_any_pool_for_the_home_region_is_refused() -> None:
    with pytest.raises(ConfigError, match="memcached_servers"):
        load_settings(
            environ={
                "GRAMSTACK_REGIONS": "us,eu",
                "GRAMSTACK_REGION": "eu",
                "GRAMSTACK_REGION_MEMCACHED": "us=127.0.0.1:1",
                "GRAMSTACK_CACHE_BACKEND": "memcached",
            }
        )
