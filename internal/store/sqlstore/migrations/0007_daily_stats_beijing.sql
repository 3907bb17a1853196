-- 0007: a day's 86400 s statistics point is stamped at the day's Beijing
-- midnight (16:00 UTC; ts is in nanoseconds), as StartTime/EndTime and the
-- reference's examples read days. Releases before that stamped it at UTC
-- midnight, which no step matches any more, so every day
-- they recorded read 0; past the hourly retention those points are the
-- only record of their days. Each moves to the Beijing day holding 16 of
-- its 24 hours (UTC 00:00-16:00 of the same date): 8 hours earlier. A series
-- that already has a point there (the day the upgrade ran, recorded by
-- both releases) keeps that one; the old point stays unread until pruned.
UPDATE stats SET ts = ts - 28800000000000
	WHERE granularity = 86400 AND ts % 86400000000000 = 0
	AND NOT EXISTS (SELECT 1 FROM stats AS s2 WHERE s2.object = stats.object AND s2.metric = stats.metric
		AND s2.granularity = 86400 AND s2.ts = stats.ts - 28800000000000);
