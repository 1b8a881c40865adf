"""Each user's optional webhook: one row per user in ``webhooks``."""

from __future__ import annotations

from gramstack.records import WebhookRecord
from gramstack.storage.ports import Database


class SqlWebhookStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_webhook(self, hook: WebhookRecord) -> None:
        """Register or replace ``hook.user_id``'s webhook."""
        async with self._db.write(for_user=hook.user_id) as conn:
            await conn.execute(
                "INSERT INTO webhooks (user_id, url, secret, created_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (user_id) DO UPDATE SET url = excluded.url,"
                " secret = excluded.secret, created_at = excluded.created_at",
                hook.user_id,
                hook.url,
                hook.secret,
                hook.created_at,
            )

    async def webhook(self, user_id: int) -> WebhookRecord | None:
        # Fresh: a webhook registered a moment ago gets its events, and a
        # removed one stops at once.
        async with self._db.read(for_user=user_id, fresh=True) as conn:
            row = await conn.fetchrow(
                "SELECT user_id, url, secret, created_at FROM webhooks WHERE user_id = $1",
                user_id,
            )
        if row is None:
            return None
        return WebhookRecord(
            int(row["user_id"]), str(row["url"]), str(row["secret"]), int(row["created_at"])
        )

    async def remove_webhook(self, user_id: int) -> bool:
        """False when there was none."""
        async with self._db.write(for_user=user_id) as conn:
            removed = await conn.fetchval(
                "DELETE FROM webhooks WHERE user_id = $1 RETURNING user_id", user_id
            )
        return removed is not None
