-- Governance (issue 6): password-reset ledger (S7), four-eyes approvals (S10) and
-- maintenance work tickets (S11). Keep in step with ../sqlite/0006_governance.sql.

-- S7: one row per reset. The operator records how the user's identity was verified; the
-- one-time code that reaches the user is kept only as SHA-256, expires soon and is used once.
CREATE TABLE password_resets (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    verified_by   TEXT NOT NULL,            -- identity document type (本人確認書類)
    checked_by    TEXT NOT NULL,            -- the operator who checked it
    note          TEXT NOT NULL DEFAULT '',
    issued_by     TEXT NOT NULL,            -- login (or cli:$USER) that issued the code
    created_at    TEXT NOT NULL,
    code_hash     TEXT NOT NULL UNIQUE,
    expires_at    TEXT NOT NULL,
    used_at       TEXT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- S10: an action waiting for a second administrator. kind + JSON payload, so that new
-- kinds (destruction, S26) plug in without a schema change.
CREATE TABLE approvals (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    requested_by  TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    -- pending → approved (→ executed | failed) or rejected
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'executed', 'failed')),
    decided_by    TEXT,
    decided_at    TEXT,
    reason        TEXT NOT NULL DEFAULT '',
    result        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX approvals_status ON approvals (status);

-- S11: an approved work ticket ties one personal maintenance account to a time window.
CREATE TABLE maintenance_tickets (
    ticket        TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    description   TEXT NOT NULL,
    window_from   TEXT NOT NULL,
    window_to     TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    approved_by   TEXT NOT NULL,
    approval_id   TEXT NOT NULL REFERENCES approvals(id),
    created_at    TEXT NOT NULL
);
CREATE INDEX maintenance_tickets_user ON maintenance_tickets (user_id);
