-- Carousels, caption edits, hashtags, mentions and explore (api.md,
-- "Additions (version 1, second part)").
--
-- A post's photos (width, height, alt text each, in order) are one JSON
-- array on the media row: they are always read together with it and never
-- queried on their own. hashtags and mentions are the caption's parse, as
-- space-separated lowercase names (neither may contain a space).
ALTER TABLE media ADD COLUMN photos TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN hashtags TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN edited_at BIGINT;
-- log2(1 + likes + 2 * comments) + created_at / one day, kept by every like
-- and comment write: ordering by it is ordering by engagement halved for
-- each day of age, and it changes only when engagement does.
ALTER TABLE media ADD COLUMN explore_score DOUBLE PRECISION NOT NULL DEFAULT 0;
-- Version-1 posts become one-photo carousels. Their engagement term starts
-- at 0 and is recomputed at their next like or comment.
UPDATE media
SET photos = '[{"width":' || width || ',"height":' || height || ',"alt_text":""}]',
    explore_score = created_at / 86400000.0
WHERE photos = '';
CREATE INDEX media_by_explore_score ON media (explore_score, id);

-- Which posts carry a hashtag, newest first by the primary key's order.
CREATE TABLE media_tags (
    tag      TEXT NOT NULL,
    media_id BIGINT NOT NULL,
    PRIMARY KEY (tag, media_id)
);

-- The activity item each caption mention made, so an edit that removes the
-- mention (or a deleted post) can take the item away again.
CREATE TABLE media_mentions (
    media_id    BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    activity_id BIGINT NOT NULL,
    PRIMARY KEY (media_id, user_id)
);

-- Explore rankings: each snapshot is the top posts of the last 7 days by
-- explore_score, taken at most once a minute; a cursor names a snapshot
-- and a position in it, so its ranking cannot shift under it.
CREATE TABLE explore_snapshots (
    id         BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
CREATE TABLE explore_rankings (
    snapshot_id BIGINT NOT NULL,
    position    INTEGER NOT NULL,
    media_id    BIGINT NOT NULL,
    owner_id    BIGINT NOT NULL,
    PRIMARY KEY (snapshot_id, position)
);
