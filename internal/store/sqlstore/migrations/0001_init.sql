-- 0001: the initial schema. {{blob}} is a dialect token (BLOB or BYTEA);
-- everything else is SQL that SQLite and PostgreSQL both accept.

-- resources holds every control-plane object as a JSON document plus the
-- columns List filters and orders on.
CREATE TABLE resources (
    kind    TEXT     NOT NULL,
    id      TEXT     NOT NULL,
    account TEXT     NOT NULL,
    parent  TEXT     NOT NULL DEFAULT '',
    project BIGINT   NOT NULL DEFAULT 0,
    created BIGINT   NOT NULL,
    data    {{blob}} NOT NULL,
    PRIMARY KEY (kind, id)
);

-- List: WHERE kind = ? AND account = ? ORDER BY created, id; the index
-- covers both the page and the COUNT(*).
CREATE INDEX resources_account ON resources (kind, account, created, id);
-- Children of a parent (listeners of a proxy, rules of a listener).
CREATE INDEX resources_parent ON resources (kind, parent);

-- claims makes idempotency tokens unique per namespace.
CREATE TABLE claims (
    namespace TEXT NOT NULL,
    token     TEXT NOT NULL,
    PRIMARY KEY (namespace, token)
);

-- meta holds counters; 'revision' counts committed writing Updates.
CREATE TABLE meta (
    key   TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('revision', 0);

-- stats is the time series: ts is Unix nanoseconds.
CREATE TABLE stats (
    object      TEXT             NOT NULL,
    metric      TEXT             NOT NULL,
    granularity INTEGER          NOT NULL,
    ts          BIGINT           NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (object, metric, granularity, ts)
);
-- Prune deletes by granularity and age.
CREATE INDEX stats_prune ON stats (granularity, ts);
