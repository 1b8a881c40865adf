"""The ports a use case reaches, bundled once by the wiring function.

Use cases are plain async functions taking this bundle first; they never
learn which database, cache or blob store sits behind it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from gramstack.cache.ports import LeaseCache
from gramstack.domain.ids import IdGenerator
from gramstack.domain.passwords import Passwords
from gramstack.domain.ports import PrimaryStore, WebhookSender
from gramstack.media.ports import AvatarImage, BlobStore, ProcessedImage
from gramstack.placement.ports import Placement
from gramstack.regional.ports import RegionalStore


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Limits:
    max_upload_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    cache_ttl_s: int = 300
    explore_refresh_s: int = 60
    # Authors with more followers are not fanned out; feeds pull their posts.
    fanout_pull_threshold: int = 10_000
    # Webhooks: deliveries tried per event, the first retry's delay (doubled
    # each time, with jitter), and whether loopback/private addresses may be
    # registered (tests, private deployments).
    webhook_max_attempts: int = 5
    webhook_backoff_ms: int = 2_000
    webhook_allow_private: bool = False


@dataclass
class Backends:
    store: PrimaryStore
    regions: Mapping[str, RegionalStore]
    placement: Placement[RegionalStore]
    cache: LeaseCache
    blobs: BlobStore
    process_image: Callable[[BinaryIO], ProcessedImage]  # CPU-bound; call off the loop
    passwords: Passwords
    limits: Limits = field(default_factory=Limits)
    clock_ms: Callable[[], int] = wall_clock_ms
    ids: IdGenerator | None = None  # set once this process holds an ID shard lease
    process_avatar: Callable[[BinaryIO], AvatarImage] | None = None  # CPU-bound, like process_image
    webhooks: WebhookSender | None = None  # set where jobs run

    def next_id(self) -> int:
        if self.ids is None:
            raise RuntimeError("no ID shard leased yet")
        return self.ids.next_id()

    def next_id_pair(self) -> int:
        """An ID whose successor is reserved too (``IdGenerator.next_id_pair``)."""
        if self.ids is None:
            raise RuntimeError("no ID shard leased yet")
        return self.ids.next_id_pair()

    async def region_for(self, user_id: int) -> RegionalStore:
        """The store to read ``user_id``'s own timeline or inbox from (the
        read counts for placement)."""
        return await self.placement.store_for_read(user_id)

    async def region_holding(self, user_id: int) -> RegionalStore:
        """The store ``user_id``'s own timeline or inbox is read from, for a
        lookup that is not the user reading it (the unread badge, the seen
        mark): placement's ``region_of`` counts no access, so these do not
        pull the user towards the region that asked."""
        return self.regions[await self.placement.region_of(user_id)]

    async def write_regional(
        self, user_id: int, apply: Callable[[RegionalStore], Awaitable[None]]
    ) -> None:
        """Apply a write to ``user_id``'s regional data wherever it must go
        (two stores while the user is being moved)."""
        await self.placement.write(user_id, apply)

    async def write_regional_many(
        self, user_ids: Sequence[int], apply: Callable[[RegionalStore, list[int]], Awaitable[None]]
    ) -> None:
        await self.placement.write_many(user_ids, apply)
