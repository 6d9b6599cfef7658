-- Data keys for encryption at rest (SECURITY.md S18), stored only wrapped: base64 of
-- nonce (12) || AES-256-GCM(master key, data key) || tag (16), with AAD binding the key id,
-- the tenant and the master key id. tenant: an organisation id, or 'agency'.
-- retired_at: no longer used for new data (kept for reading). At most one current key per
-- tenant, so that processes creating a tenant's first key at the same moment agree.
CREATE TABLE data_keys (
    id           TEXT PRIMARY KEY,
    tenant       TEXT NOT NULL,
    master_id    TEXT NOT NULL,
    wrapped      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    rewrapped_at TEXT,
    retired_at   TEXT
);
CREATE UNIQUE INDEX data_keys_current ON data_keys(tenant) WHERE retired_at IS NULL;
CREATE INDEX data_keys_master ON data_keys(master_id);
