-- User search: one row per (word, user) for the username and each word of
-- the full name, lowercased. COLLATE "C" makes the primary key's order the
-- code point order, so a prefix query (word >= q AND word < successor(q))
-- is one range scan of the index, as in SQLite.
CREATE TABLE user_words (
    word    TEXT COLLATE "C" NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (word, user_id)
);
CREATE INDEX user_words_by_user ON user_words (user_id);
INSERT INTO user_words (word, user_id)
    SELECT username, id FROM users
    UNION
    SELECT w, id FROM users, regexp_split_to_table(lower(full_name), '\W+') AS w WHERE w <> '';
