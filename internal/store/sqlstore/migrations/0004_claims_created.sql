-- 0004: claims get the time they were made (Unix nanoseconds), so that
-- ExpireClaims can forget them after their retention. Claims made before
-- this migration count as made now: each is kept one full retention from
-- the upgrade. {{now_ns}} is the current time in Unix nanoseconds.
ALTER TABLE claims ADD COLUMN created BIGINT NOT NULL DEFAULT 0;
UPDATE claims SET created = {{now_ns}};
-- ExpireClaims: WHERE created < ? ORDER BY created LIMIT n, a range scan.
CREATE INDEX claims_created ON claims (created);
