-- Posts made before explore (0011) started from age alone: their likes and
-- comments counted only from their next like or comment. Recompute every
-- engaged post's score with storage.media.explore_score's formula (it is
-- deterministic, so a score already right stays the same).
UPDATE media
SET explore_score = log2(1 + like_count + 2 * comment_count) + created_at / 86400000.0
WHERE like_count > 0 OR comment_count > 0;
