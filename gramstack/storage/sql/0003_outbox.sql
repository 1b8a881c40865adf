-- The invalidation outbox: each writing transaction that changes a cached
-- row records which rows it changed (JSON, see gramstack/invalidation/rules.py)
-- in the same transaction; every process tails it to evict cache keys.
CREATE TABLE outbox (
    id         BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    changes    TEXT NOT NULL
);
CREATE INDEX outbox_by_age ON outbox (created_at);

-- IDs come from this one row, bumped inside the writing transaction. The
-- bump holds the row's lock until commit, so IDs commit in order and a
-- reader that has seen ID n will never later find an n' < n appear
-- (a sequence would not promise that on PostgreSQL).
CREATE TABLE outbox_seq (
    id      INTEGER PRIMARY KEY,
    last_id BIGINT NOT NULL
);
INSERT INTO outbox_seq (id, last_id) VALUES (1, 0);
