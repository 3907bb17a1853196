-- 0006: QueryPrefix reads the series whose object starts with a prefix as
-- the range object >= prefix AND object < the prefix's successor, on the
-- primary key. That range holds exactly those objects only where text
-- compares as bytes. SQLite's TEXT does (nothing to do there); PostgreSQL's
-- follows the database's collation, and en_US, say, ignores punctuation,
-- which puts 'lsr/rs:80' after 'lsr/rs;'. On PostgreSQL the column becomes
-- COLLATE "C": the primary key is rebuilt once, the table is not. Equality,
-- which every other stats query uses, is the same in every deterministic
-- collation, so they are unchanged.
{{stats_object_bytes}};
