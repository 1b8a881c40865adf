-- A version per home timeline, bumped after every write that adds to one
-- (the timelines live in regional stores): the invalidation rules see this
-- row change, in either cache mode, and evict the timeline's cached first
-- page.
CREATE TABLE timeline_marks (
    user_id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 0
);
