-- 0003: children of a parent in creation order. Expiring finished tasks
-- lists WHERE kind = ? AND parent = ? AND created < ? ORDER BY created, id
-- LIMIT n (a task's parent column holds its status); with this index that
-- is a range scan of n entries, not a sort of every finished task. It
-- serves every lookup the (kind, parent) index did, so that one goes.
CREATE INDEX resources_parent_created ON resources (kind, parent, created, id);
DROP INDEX resources_parent;
