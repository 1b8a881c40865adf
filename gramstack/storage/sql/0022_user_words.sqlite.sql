-- User search: one row per (word, user) for the username and each word of
-- the full name, lowercased; a prefix query is a range scan of the primary
-- key (BINARY collation compares UTF-8 bytes, i.e. code point order).
CREATE TABLE user_words (
    word    TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (word, user_id)
) WITHOUT ROWID;
CREATE INDEX user_words_by_user ON user_words (user_id);
INSERT INTO user_words (word, user_id) SELECT username, id FROM users;
