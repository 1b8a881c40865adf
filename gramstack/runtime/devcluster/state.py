"""The record of a running dev cluster (``cluster.json``): every server's
port and data directory, and the ``GRAMSTACK_*`` settings that point a
server, worker or invalidator at them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gramstack.runtime.devcluster import memcached as mc
from gramstack.runtime.devcluster import postgres as pg

STATE_FILE = "cluster.json"
DATABASE = "gramstack"
APP_ROLE = "gramstack"
INVALIDATOR_SLOT = "gramstack_invalidator"
INVALIDATOR_METRICS_PORT = 9187


@dataclass
class Node:
    name: str  # "leader", the follower's region, or "<region>-leader|follower"
    port: int
    data: str

    def dsn(self, user: str = APP_ROLE) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{DATABASE}"


@dataclass
class RegionalCluster:
    """One region's own PostgreSQL cluster for its regional store."""

    region: str
    leader: Node
    follower: Node


@dataclass
class MemcachedNode:
    region: str
    port: int
    pid: int

    @property
    def address(self) -> str:
        return f"{mc.HOST}:{self.port}"


@dataclass
class ClusterState:
    directory: str
    bindir: str
    user: str | None
    leader: Node
    followers: list[Node] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)  # empty: the --followers shape
    regional: list[RegionalCluster] = field(default_factory=list)
    memcached: list[MemcachedNode] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.leader.dsn()

    @property
    def follower_urls(self) -> str:
        return ",".join(f"{f.name}={f.dsn()}" for f in self.followers)

    @property
    def regional_urls(self) -> str:
        return ",".join(f"{c.region}={c.leader.dsn()}" for c in self.regional)

    @property
    def regional_follower_urls(self) -> str:
        return ",".join(f"{c.region}={c.follower.dsn()}" for c in self.regional)

    def memcached_pool(self, region: str) -> str:
        """``region``'s memcached servers, in ``memcached_servers`` form."""
        return ",".join(m.address for m in self.memcached if m.region == region)

    @property
    def region_memcached(self) -> str:
        # Servers of one pool are joined by "|": "," already separates regions.
        return ",".join(
            f"{region}={self.memcached_pool(region).replace(',', '|')}" for region in self.regions
        )

    @property
    def shared_env(self) -> dict[str, str]:
        """Settings every process of the cluster takes, whatever its region."""
        env = {
            "GRAMSTACK_DATABASE_URL": self.database_url,
            "GRAMSTACK_FOLLOWER_URLS": self.follower_urls,
        }
        if self.regions:
            env = {
                "GRAMSTACK_REGIONS": ",".join(self.regions),
                **env,
                "GRAMSTACK_REGIONAL_URLS": self.regional_urls,
                "GRAMSTACK_REGIONAL_FOLLOWER_URLS": self.regional_follower_urls,
                "GRAMSTACK_REGION_MEMCACHED": self.region_memcached,
                "GRAMSTACK_CACHE_BACKEND": "memcached",
            }
        return env

    def env_for(self, region: str) -> dict[str, str]:
        """Everything a server, worker or invalidator whose home is ``region``
        needs: the shared settings, its region, its region's cache pool and,
        for the invalidator, a slot and metrics port of its own."""
        if region not in self.regions:
            raise KeyError(f"no region {region!r} in this cluster ({','.join(self.regions)})")
        index = self.regions.index(region)
        return {
            **self.shared_env,
            "GRAMSTACK_REGION": region,
            "GRAMSTACK_MEMCACHED_SERVERS": self.memcached_pool(region),
            "GRAMSTACK_INVALIDATOR_SLOT": f"{INVALIDATOR_SLOT}_{region}",
            "GRAMSTACK_INVALIDATOR_METRICS_PORT": str(INVALIDATOR_METRICS_PORT + index),
        }

    @property
    def env(self) -> dict[str, str]:
        """The settings for a process in the first region (the only shape
        of the ``--followers`` cluster)."""
        return self.env_for(self.regions[0]) if self.regions else self.shared_env

    def superuser_dsn(self, node: Node) -> str:
        """For operators and tests: pausing replay needs a superuser."""
        return node.dsn(pg.SUPERUSER)

    def follower(self, region: str) -> Node:
        return next(f for f in self.followers if f.name == region)

    def regional_cluster(self, region: str) -> RegionalCluster:
        return next(c for c in self.regional if c.region == region)

    def postgres_nodes(self) -> list[Node]:
        regional = [n for c in self.regional for n in (c.leader, c.follower)]
        return [self.leader, *self.followers, *regional]

    def save(self) -> None:
        document: dict[str, Any] = {**asdict(self), "env": self.env}
        if self.regions:
            document["env_by_region"] = {r: self.env_for(r) for r in self.regions}
        path = Path(self.directory) / STATE_FILE
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> ClusterState:
        document: dict[str, Any] = json.loads((directory / STATE_FILE).read_text("utf-8"))
        return cls(
            directory=document["directory"],
            bindir=document["bindir"],
            user=document["user"],
            leader=Node(**document["leader"]),
            followers=[Node(**f) for f in document["followers"]],
            regions=list(document.get("regions", [])),
            regional=[
                RegionalCluster(c["region"], Node(**c["leader"]), Node(**c["follower"]))
                for c in document.get("regional", [])
            ],
            memcached=[MemcachedNode(**m) for m in document.get("memcached", [])],
        )
