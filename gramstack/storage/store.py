"""``PrimaryStore``: the primary SQL database, one store per aggregate, all
sharing one ``Database`` (SQLite, PostgreSQL, or the follower router) and
one ``Writer`` (outbox, evictions after commit).

The SQL is written once for every backend, in PostgreSQL's ``$1`` style,
against the ``Database`` port; ``domain.ports`` declares what each
aggregate store must offer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gramstack.storage.accounts import SqlAccountStore
from gramstack.storage.discovery import SqlDiscoveryStore
from gramstack.storage.erasure import SqlAccountErasure
from gramstack.storage.graph import SqlGraphStore
from gramstack.storage.leases import SqlIdShardLeases, SqlRateLimitBuckets
from gramstack.storage.marks import SqlInboxMarks, SqlTimelineMarks
from gramstack.storage.media import SqlMediaStore
from gramstack.storage.people import SqlPeopleStore
from gramstack.storage.placement import SqlLocationTable
from gramstack.storage.ports import Database, OnCommit
from gramstack.storage.queue import SqlJobQueue
from gramstack.storage.reactions import SqlReactionStore
from gramstack.storage.transaction import Writer
from gramstack.storage.webhooks import SqlWebhookStore


class SqlReadiness:
    """Whether the primary database answers, and each read replica's state."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def ping(self) -> None:
        await self._db.ping()

    def replica_states(self) -> Mapping[str, str]:
        return self._db.replica_states()


class PrimaryStore:
    def __init__(
        self,
        db: Database,
        *,
        on_commit: OnCommit | None = None,
        outbox: bool = True,
        on_outbox: Callable[[int], None] | None = None,
    ) -> None:
        writer = Writer(db, on_commit=on_commit, outbox=outbox, on_outbox=on_outbox)
        self.accounts = SqlAccountStore(writer)
        self.graph = SqlGraphStore(writer)
        self.media = SqlMediaStore(writer)
        self.reactions = SqlReactionStore(writer)
        self.erasure = SqlAccountErasure(writer)
        self.discovery = SqlDiscoveryStore(writer)
        self.people = SqlPeopleStore(db)
        self.inbox_marks = SqlInboxMarks(writer)
        self.timeline_marks = SqlTimelineMarks(writer)
        self.queue = SqlJobQueue(db)
        self.placement = SqlLocationTable(db)
        self.leases = SqlIdShardLeases(db)
        self.buckets = SqlRateLimitBuckets(db)
        self.readiness = SqlReadiness(db)
        self.webhooks = SqlWebhookStore(db)
