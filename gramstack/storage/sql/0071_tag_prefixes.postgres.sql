-- Tag search's prefix index: each tag under every prefix of its name up to
-- 20 characters (storage.media.TAG_PREFIX_DEPTH), with its media count, kept
-- in the transaction that changes the count. The best tags for a prefix are
-- the first rows of one range of tag_prefixes_by_count, however many tags
-- share the prefix. COLLATE "C": names tie-break in code point order, as on SQLite.
CREATE TABLE tag_prefixes (
    prefix      TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    media_count BIGINT NOT NULL,
    PRIMARY KEY (prefix, name)
);
CREATE INDEX tag_prefixes_by_count ON tag_prefixes (prefix, media_count DESC, name);
CREATE INDEX tag_prefixes_by_name ON tag_prefixes (name);
INSERT INTO tag_prefixes (prefix, name, media_count)
    SELECT substr(t.name, 1, d.n), t.name, t.media_count
    FROM tags t JOIN generate_series(1, 20) AS d(n) ON d.n <= length(t.name);
