-- Tag media counts, kept in the writing transaction. Names compare as bytes
-- (SQLite's BINARY), so "name >= q AND name < q || U+10FFFF" is a prefix
-- range of the primary key.
CREATE TABLE tags (
    name        TEXT PRIMARY KEY,
    media_count BIGINT NOT NULL DEFAULT 0
);
