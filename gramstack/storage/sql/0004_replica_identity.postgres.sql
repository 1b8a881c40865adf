-- The invalidation service reads deletes from the logical replication slot;
-- a primary key alone does not name the cache keys a deleted like, follow
-- or media row made stale, so the WAL must carry whole old rows.
ALTER TABLE media REPLICA IDENTITY FULL;
ALTER TABLE follows REPLICA IDENTITY FULL;
ALTER TABLE likes REPLICA IDENTITY FULL;
