-- Tag media counts, kept in the writing transaction. COLLATE "C" compares
-- bytes, so "name >= q AND name < q || U+10FFFF" is a prefix range of the
-- primary key (a locale collation would not order prefixes together).
CREATE TABLE tags (
    name        TEXT COLLATE "C" PRIMARY KEY,
    media_count BIGINT NOT NULL DEFAULT 0
);
ALTER TABLE media_tags ALTER COLUMN tag TYPE TEXT COLLATE "C";
