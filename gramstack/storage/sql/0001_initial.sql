-- Primary store schema, portable between SQLite and PostgreSQL.
-- IDs are application-generated 64-bit time-sortable integers; times are
-- milliseconds since the Unix epoch. Counters are denormalized and updated
-- in the transaction that writes the row they count.

CREATE TABLE users (
    id              BIGINT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    full_name       TEXT NOT NULL DEFAULT '',
    bio             TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    follower_count  BIGINT NOT NULL DEFAULT 0,
    following_count BIGINT NOT NULL DEFAULT 0,
    media_count     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE follows (
    id          BIGINT PRIMARY KEY,
    follower_id BIGINT NOT NULL,
    followee_id BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (follower_id, followee_id)
);
CREATE INDEX follows_by_followee ON follows (followee_id, id);
CREATE INDEX follows_by_follower ON follows (follower_id, id);

CREATE TABLE media (
    id            BIGINT PRIMARY KEY,
    owner_id      BIGINT NOT NULL,
    caption       TEXT NOT NULL DEFAULT '',
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    created_at    BIGINT NOT NULL,
    like_count    BIGINT NOT NULL DEFAULT 0,
    comment_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX media_by_owner ON media (owner_id, id);

CREATE TABLE likes (
    id         BIGINT PRIMARY KEY,
    media_id   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (media_id, user_id)
);
CREATE INDEX likes_by_media ON likes (media_id, id);

CREATE TABLE comments (
    id         BIGINT PRIMARY KEY,
    media_id   BIGINT NOT NULL,
    author_id  BIGINT NOT NULL,
    text       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX comments_by_media ON comments (media_id, id);

-- Durable job queue: written in the same transaction as the change that
-- needs follow-up work (fan-out, inbox items), so no work is ever lost.
CREATE TABLE jobs (
    id            BIGINT PRIMARY KEY,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    run_after     BIGINT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT
);
CREATE INDEX jobs_ready ON jobs (run_after, id);

-- Each ID generator leases one logical shard so that no two processes
-- ever mint IDs in the same (millisecond, shard) space.
CREATE TABLE id_shard_leases (
    shard      INTEGER PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
