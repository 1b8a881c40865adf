"""``gramstack dev-cluster up|down``: real local servers in one directory.

Two shapes:

- ``up(dir, followers=N)``: a PostgreSQL leader and N streaming followers
  (regions local, eu, ap, ...), the database created and migrated. Tests
  start their clusters this way.
- ``up(dir, regions=["us", "eu", "ap"])``: the scaled multi-region topology
  (DESIGN.md, "Regions on one machine"): the global leader with one follower
  per region, and per region its own regional PostgreSQL cluster (leader +
  streaming follower, separate from the global one, holding the regional
  store's schema) and its own memcached.

Either way ``cluster.json`` records every server (ports, data directories,
memcached pids) and the ``GRAMSTACK_*`` settings that point a server at
them (``env``; per home region ``env_by_region``); ``down`` reads it and
stops everything. The PostgreSQL servers of one stage are started side by
side, since most of their start-up is waiting, not computing.
"""

from __future__ import annotations

from gramstack.runtime.devcluster import memcached as mc
from gramstack.runtime.devcluster import postgres as pg
from gramstack.runtime.devcluster.exports import export_lines
from gramstack.runtime.devcluster.lifecycle import down, up
from gramstack.runtime.devcluster.regions import REGIONS, parse_regions, region_names
from gramstack.runtime.devcluster.state import (
    APP_ROLE,
    DATABASE,
    INVALIDATOR_METRICS_PORT,
    INVALIDATOR_SLOT,
    STATE_FILE,
    ClusterState,
    MemcachedNode,
    Node,
    RegionalCluster,
)

__all__ = [
    "APP_ROLE",
    "DATABASE",
    "INVALIDATOR_METRICS_PORT",
    "INVALIDATOR_SLOT",
    "REGIONS",
    "STATE_FILE",
    "ClusterState",
    "MemcachedNode",
    "Node",
    "RegionalCluster",
    "down",
    "export_lines",
    "mc",
    "parse_regions",
    "pg",
    "region_names",
    "up",
]
