"""Comments on media: oldest first, deletable by their author or the media's owner."""

from __future__ import annotations

from collections.abc import Iterable

from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.domain.errors import Forbidden, NotFound, ValidationFailed
from gramstack.domain.hydration import user_records
from gramstack.domain.media import get_media
from gramstack.domain.mentions import mentioned_users
from gramstack.domain.models import ActivityRecord, CommentRecord, CommentView, Page, PageRequest
from gramstack.domain.pagination import encode_cursor
from gramstack.domain.validation import MAX_COMMENT, check_length
from gramstack.regional.ports import RegionalStore

COMMENTS = "comments"


async def add_comment(b: Backends, viewer: int, media_id: int, text: str) -> CommentView:
    check_length("text", text, MAX_COMMENT, minimum=1)
    if not text.strip():
        raise ValidationFailed("text", "must not be blank")
    mentioned = await mentioned_users(b, "text", text)
    # The pair: the ID after the comment's is the owner's mention item.
    comment = CommentRecord(b.next_id_pair(), media_id, viewer, text, b.clock_ms())

    async with b.store.reactions.add_comment(comment) as (owner, tx):
        if owner is None:
            raise NotFound("media", media_id)
        if owner != viewer:
            activity = ActivityRecord(comment.id, "comment", viewer, media_id, comment.created_at)
            tx.enqueue(jobs.inbox_add(b.next_id(), owner, activity))
        # api.md: a mention item for everyone the comment mentions but its
        # author, the post's owner too (beside their comment item).
        for uid, item_id in _mention_items(comment, mentioned.values(), owner):
            item = ActivityRecord(item_id, "mention", viewer, media_id, comment.created_at)
            tx.enqueue(jobs.inbox_add(b.next_id(), uid, item))
    authors = await b.store.accounts.users([viewer], viewer=viewer)
    return CommentView(comment, authors[viewer])


def owner_mention_id(comment_id: int) -> int:
    """The ID of the mention item a comment makes in its post owner's inbox.

    An item made by a comment carries the comment's ID, so that its text is
    found by ID; the owner's inbox holds the comment item under that ID
    already, so their mention item takes the next one, which the comment's
    ID pair reserved (``IdGenerator.next_id_pair``)."""
    return comment_id + 1


def _mention_items(
    comment: CommentRecord, mentioned: Iterable[int], media_owner: int
) -> list[tuple[int, int]]:
    """(recipient, activity item ID) of the comment's mention items."""
    return [
        (uid, owner_mention_id(comment.id) if uid == media_owner else comment.id)
        for uid in dict.fromkeys(mentioned)
        if uid != comment.author_id
    ]


async def delete_comment(b: Backends, viewer: int, comment_id: int) -> None:
    found = await b.store.reactions.comment_with_owner(comment_id)
    if found is None:
        raise NotFound("comment", comment_id)
    comment, media_owner = found
    if viewer not in (comment.author_id, media_owner):
        raise Forbidden("only the author or the media's owner can delete this comment")
    removal = (
        []
        if comment.author_id == media_owner
        else [jobs.inbox_remove(b.next_id(), media_owner, comment.id)]
    )
    # The text never changes, so parsing it again finds whom it mentioned.
    try:
        mentioned = await mentioned_users(b, "text", comment.text)
    except ValidationFailed:
        mentioned = {}
    removal += [
        jobs.inbox_remove(b.next_id(), uid, item_id)
        for uid, item_id in _mention_items(comment, mentioned.values(), media_owner)
    ]
    if not await b.store.reactions.delete_comment(comment_id, b.clock_ms(), removal, actor=viewer):
        raise NotFound("comment", comment_id)
    if viewer == media_owner != comment.author_id:
        # The inbox is the deleter's own: they must not see the items on their
        # next request, so do now what the queued jobs would do a bit later.
        owned = [comment.id]
        if media_owner in mentioned.values():
            owned.append(owner_mention_id(comment.id))
        await b.write_regional(viewer, lambda r: _remove_activities(r, viewer, owned))
        await b.store.inbox_marks.inbox_changed([viewer])


async def _remove_activities(region: RegionalStore, user_id: int, ids: list[int]) -> None:
    for activity_id in ids:
        await region.remove_activity(user_id, activity_id)


async def list_comments(
    b: Backends, media_id: int, page: PageRequest, viewer: int | None
) -> Page[CommentView]:
    await get_media(b, media_id, viewer)
    records = await b.store.reactions.comments_page(
        media_id, page.after, page.limit + 1, viewer=viewer
    )
    more = len(records) > page.limit
    records = records[: page.limit]
    authors = await user_records(b, [c.author_id for c in records], viewer)
    cursor = encode_cursor(COMMENTS, records[-1].id) if more else None
    return Page(
        [CommentView(c, authors[c.author_id]) for c in records if c.author_id in authors], cursor
    )
