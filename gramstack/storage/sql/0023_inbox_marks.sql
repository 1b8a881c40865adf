-- Each user's activity seen mark, and a version bumped on every write to
-- their inbox (which lives in a regional store): the invalidation rules see
-- this row change, in either cache mode, and evict the cached unread count.
CREATE TABLE inbox_marks (
    user_id BIGINT PRIMARY KEY,
    seen_id BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 0
);
