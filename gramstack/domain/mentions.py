"""Which ``@names`` of a caption or comment are mentions: those naming an
existing user (looked up through the cached username mapping)."""

from __future__ import annotations

from gramstack.domain.backends import Backends
from gramstack.domain.captions import check_mentions, mention_candidates
from gramstack.domain.errors import NotFound
from gramstack.domain.hydration import user_id_for


async def mentioned_users(b: Backends, field: str, text: str) -> dict[str, int]:
    """Username -> user ID of each mentioned existing user, in order of first
    appearance; more than ``MAX_MENTIONS`` of them is ``ValidationFailed``."""
    found: dict[str, int] = {}
    for name in mention_candidates(text):
        try:
            found[name] = await user_id_for(b, name)
        except NotFound:
            continue
    check_mentions(field, list(found))
    return found
