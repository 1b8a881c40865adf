"""The activity inbox: likes, comments on my media, new followers, mentions."""

from __future__ import annotations

from gramstack.domain.backends import Backends
from gramstack.domain.comments import owner_mention_id
from gramstack.domain.hydration import media_records, user_records
from gramstack.domain.models import ActivityRecord, ActivityView, CommentRecord, Page, PageRequest
from gramstack.domain.pagination import encode_cursor

ACTIVITY = "activity"


async def activity(b: Backends, viewer: int, page: PageRequest) -> Page[ActivityView]:
    region = await b.region_for(viewer)
    records = await region.activity_page(viewer, page.after, page.limit + 1)
    more = len(records) > page.limit
    records = records[: page.limit]
    actors = await user_records(b, [r.actor_id for r in records], viewer)
    media_ids = [r.media_id for r in records if r.media_id is not None]
    live = await media_records(b, media_ids, viewer)
    # Items made by a comment carry its ID, but a mention of the post's owner
    # the ID after it (comments.owner_mention_id); a caption mention's ID
    # names no comment. An item whose comment is gone is on its way out.
    maybe_comments = [r.id for r in records if r.type in ("comment", "mention")]
    maybe_comments += [r.id - 1 for r in records if r.type == "mention"]
    found = await b.store.reactions.comments_by_id(maybe_comments, viewer=viewer)
    items = [
        ActivityView(r, actors[r.actor_id], _comment_of(r, found))
        for r in records
        if r.actor_id in actors
        and (r.media_id is None or r.media_id in live)
        and (r.type != "comment" or r.id in found)
    ]
    cursor = encode_cursor(ACTIVITY, records[-1].id) if more else None
    return Page(items, cursor)


def _comment_of(item: ActivityRecord, found: dict[int, CommentRecord]) -> CommentRecord | None:
    """The comment that made the item, if a comment did."""
    if item.type == "comment":
        return found.get(item.id)
    if item.type != "mention":
        return None
    comment = found.get(item.id)
    if comment is None:
        comment = found.get(item.id - 1)
        # The ID before a caption mention's may be an unrelated comment (made
        # before comment IDs came in pairs): the same post and author or none.
        if comment is not None and not (
            item.id == owner_mention_id(comment.id)
            and comment.media_id == item.media_id
            and comment.author_id == item.actor_id
        ):
            return None
    return comment
