-- S12: alerts wait here until the webhook has taken them, so an alert raised while the
-- receiver is down (or the process is killed) is retried, not lost.
-- Keep in step with ../postgres/0012_alert_outbox.sql.
CREATE TABLE alert_outbox (
    id            TEXT PRIMARY KEY,            -- UUID v7, time-ordered
    event         TEXT NOT NULL,               -- emergency.use, emergency.declare, ...
    body          TEXT NOT NULL,               -- the JSON posted, fixed when raised
    created_at    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       TEXT NOT NULL,               -- not tried again before this time
    claimed_until TEXT,                        -- a sender's lease, so two processes do not post it twice
    last_error    TEXT NOT NULL DEFAULT '',
    delivered_at  TEXT
);
CREATE INDEX alert_outbox_pending ON alert_outbox (next_at) WHERE delivered_at IS NULL;
