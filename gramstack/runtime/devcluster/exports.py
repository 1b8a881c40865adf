"""What ``gramstack dev-cluster up`` prints: shell lines that point a
process at the cluster, one block of settings per home region."""

from __future__ import annotations

import shlex

from gramstack.runtime.devcluster.state import ClusterState


def export_lines(state: ClusterState) -> list[str]:
    """Shell lines that set up a process of the cluster (first region's)."""
    if not state.regions:
        return [_export(key, value) for key, value in state.env.items()]
    shared = state.shared_env
    lines = ["# shared by every server, worker and invalidator:"]
    lines += [_export(key, value) for key, value in shared.items()]
    for index, region in enumerate(state.regions):
        own = {k: v for k, v in state.env_for(region).items() if k not in shared}
        if index == 0:
            lines.append(f"# home region {region} (a process in another region takes its block):")
            lines += [_export(key, value) for key, value in own.items()]
        else:
            lines.append(f"# home region {region}:")
            lines += ["# " + _export(key, value) for key, value in own.items()]
    return lines


def _export(key: str, value: str) -> str:
    return f"export {key}={shlex.quote(value)}"
