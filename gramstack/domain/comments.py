"""Comments on media: oldest first, deletable by their author or the media's owner."""

from __future__ import annotations

from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.domain.errors import Forbidden, NotFound, ValidationFailed
from gramstack.domain.hydration import user_records
from gramstack.domain.media import get_media
from gramstack.domain.models import ActivityRecord, CommentRecord, CommentView, Page, PageRequest
from gramstack.domain.pagination import encode_cursor
from gramstack.domain.validation import MAX_COMMENT, check_length

COMMENTS = "comments"


async def add_comment(b: Backends, viewer: int, media_id: int, text: str) -> CommentView:
    check_length("text", text, MAX_COMMENT, minimum=1)
    if not text.strip():
        raise ValidationFailed("text", "must not be blank")
    comment = CommentRecord(b.next_id(), media_id, viewer, text, b.clock_ms())

    async with b.store.reactions.add_comment(comment) as (owner, tx):
        if owner is None:
            raise NotFound("media", media_id)
        if owner != viewer:
            activity = ActivityRecord(comment.id, "comment", viewer, media_id, comment.created_at)
            tx.enqueue(jobs.inbox_add(b.next_id(), owner, activity))
    authors = await b.store.accounts.users([viewer], viewer=viewer)
    return CommentView(comment, authors[viewer])


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
    if not await b.store.reactions.delete_comment(comment_id, b.clock_ms(), removal, actor=viewer):
        raise NotFound("comment", comment_id)
    if removal and viewer == media_owner:
        # The inbox is the deleter's own: they must not see the item on their
        # next request, so do now what the queued job would do a bit later.
        await b.write_regional(viewer, lambda r: r.remove_activity(viewer, comment.id))
        await b.store.inbox_marks.inbox_changed([viewer])


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
