-- Avatars, account deletion and the indexes its clean-up job walks.
-- avatar_id names the blobs of the current avatar (a new ID per upload, so
-- its URLs change and no cache serves the old picture); deleted_at marks an
-- account that reads must no longer show while the deletion job runs.
ALTER TABLE users ADD COLUMN avatar_id BIGINT;
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
-- The deletion job finds a user's likes and comments by their author.
CREATE INDEX likes_by_user ON likes (user_id, id);
CREATE INDEX comments_by_author ON comments (author_id, id);
-- Suggestions fall back to the most-followed accounts: a bounded index scan.
CREATE INDEX users_by_followers ON users (follower_count, id);
