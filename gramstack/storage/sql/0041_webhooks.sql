-- One optional webhook per user: the URL their events are POSTed to and
-- the secret that signs each body. Removed with the user's row.
CREATE TABLE webhooks (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
