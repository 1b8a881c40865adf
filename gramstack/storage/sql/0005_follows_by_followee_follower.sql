-- Fan-out pages through an author's followers in follower_id order
-- ("followee_id = ? AND follower_id > ? ORDER BY follower_id LIMIT 500").
-- The (followee_id, id) index finds the rows but not in that order, so every
-- batch re-sorted all of the author's followers: quadratic in the audience
-- (1.37 s per batch at 100 K followers). With this index each batch is a
-- range scan of 500 entries.
CREATE INDEX follows_by_followee_follower ON follows (followee_id, follower_id);
