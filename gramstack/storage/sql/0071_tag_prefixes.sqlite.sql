-- Tag search's prefix index: each tag under every prefix of its name up to
-- 20 characters (storage.media.TAG_PREFIX_DEPTH), with its media count, kept
-- in the transaction that changes the count. The best tags for a prefix are
-- the first rows of one range of tag_prefixes_by_count, however many tags
-- share the prefix.
CREATE TABLE tag_prefixes (
    prefix      TEXT NOT NULL,
    name        TEXT NOT NULL,
    media_count BIGINT NOT NULL,
    PRIMARY KEY (prefix, name)
) WITHOUT ROWID;
CREATE INDEX tag_prefixes_by_count ON tag_prefixes (prefix, media_count DESC, name);
CREATE INDEX tag_prefixes_by_name ON tag_prefixes (name);
INSERT INTO tag_prefixes (prefix, name, media_count)
    SELECT substr(t.name, 1, d.n), t.name, t.media_count
    FROM tags t JOIN (
        SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
        UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
        UNION ALL SELECT 9 UNION ALL SELECT 10 UNION ALL SELECT 11 UNION ALL SELECT 12
        UNION ALL SELECT 13 UNION ALL SELECT 14 UNION ALL SELECT 15 UNION ALL SELECT 16
        UNION ALL SELECT 17 UNION ALL SELECT 18 UNION ALL SELECT 19 UNION ALL SELECT 20
    ) d ON d.n <= length(t.name);
