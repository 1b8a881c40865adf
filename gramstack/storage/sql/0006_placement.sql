-- Akkio's location table: which region holds each user's timeline and
-- inbox, and where a move between regions stands (state, target). epoch
-- rises with every change so a cached copy can be told stale.
CREATE TABLE placements (
    user_id BIGINT PRIMARY KEY,
    region TEXT NOT NULL,
    target TEXT,
    state TEXT NOT NULL DEFAULT 'placed',
    epoch BIGINT NOT NULL DEFAULT 1,
    changed_at BIGINT NOT NULL
);
-- Reads of each user's timeline and inbox by the region that served them,
-- decayed with time: score is the decayed count as of updated_at.
CREATE TABLE placement_reads (
    user_id BIGINT NOT NULL,
    region TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, region)
);
