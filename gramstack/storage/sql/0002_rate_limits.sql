-- Token buckets shared by every worker process (and server), so a limit
-- means the same thing however many processes serve the requests.
CREATE TABLE rate_limits (
    bucket     TEXT PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_by_age ON rate_limits (updated_at);
