-- daiko core schema (PostgreSQL). Keep in step with ../sqlite/0001_core.sql: same tables,
-- same columns, same meaning. Timestamps are TEXT in RFC 3339 UTC with microseconds
-- ("2026-11-24T16:18:55.123456Z") so that text order is time order on both databases.
-- Booleans are BIGINT 0/1. Ids are text (UUID v7) unless a sequence matters.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Organisations: the agency itself, insurers (保険者) and institutions (健診・保健指導機関).
CREATE TABLE orgs (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('agency', 'insurer', 'institution')),
    number        TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    -- insurer service subscriptions, comma separated: check,route,billing,invite
    services      TEXT NOT NULL DEFAULT '',
    -- delivery batching for insurers: immediate | daily | monthly
    batching      TEXT NOT NULL DEFAULT 'immediate',
    -- public keys for sealed media (daiko-seal text form), empty when not registered
    media_public_key TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    login                TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL DEFAULT '',
    role                 TEXT NOT NULL CHECK (role IN ('operator', 'admin', 'auditor', 'insurer', 'institution', 'maintenance', 'emergency')),
    org_id               TEXT REFERENCES orgs(id),
    password_hash        TEXT NOT NULL DEFAULT '',
    must_change_password BIGINT NOT NULL DEFAULT 1,
    totp_secret          TEXT NOT NULL DEFAULT '',
    totp_last_step       BIGINT,
    failed_logins        BIGINT NOT NULL DEFAULT 0,
    locked_until         TEXT,
    disabled             BIGINT NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL
);

-- API tokens for systems; only the SHA-256 of the token is kept.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked      BIGINT NOT NULL DEFAULT 0
);

-- Browser sessions; only the SHA-256 of the cookie value is kept.
-- stage: 'password' (first factor passed), 'totp' (both factors passed, a password change
-- is due before anything else) or 'full'.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    stage        TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    lang         TEXT NOT NULL DEFAULT 'ja',
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    ended_at     TEXT
);

-- Received archives (種別1 from institutions, 4/5 from insurers). A row exists only once the
-- archive is durably stored; the receipt (データ受領書) is issued from it.
CREATE TABLE submissions (
    id            TEXT PRIMARY KEY,
    receipt_no    TEXT NOT NULL UNIQUE,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    uploaded_by   TEXT,
    channel       TEXT NOT NULL,            -- api | web | media
    archive_name  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    blob_key      TEXT NOT NULL,
    status        TEXT NOT NULL,            -- received | checking | done
    verdict       TEXT,                     -- accepted | partially_accepted | rejected
    counts_json   TEXT,
    report_key    TEXT,                     -- blob of the JSON check report
    received_at   TEXT NOT NULL,
    checked_at    TEXT
);
CREATE INDEX submissions_org ON submissions(org_id, received_at);
CREATE INDEX submissions_sha ON submissions(sha256);
CREATE INDEX submissions_name ON submissions(archive_name);

-- One data/claim pair of a submission and where it stands (a record's lineage starts here).
CREATE TABLE records (
    id                 TEXT PRIMARY KEY,
    submission_id      TEXT NOT NULL REFERENCES submissions(id),
    seq                BIGINT NOT NULL,
    data_file          TEXT NOT NULL,
    claim_file         TEXT NOT NULL,
    insurer            TEXT NOT NULL,
    institution        TEXT NOT NULL,
    voucher            TEXT NOT NULL,
    card_symbol        TEXT NOT NULL DEFAULT '',
    card_number        TEXT NOT NULL DEFAULT '',
    service_event_type BIGINT NOT NULL,
    guidance_timing    TEXT,
    service_date       TEXT NOT NULL,      -- YYYYMMDD
    fiscal_year        BIGINT NOT NULL,
    outcome            TEXT NOT NULL,      -- accepted | returned | held | rejected (whole archive, AR)
    return_reason      TEXT,
    -- accepted | delivered | returned | held | rejected | paid | withdrawn
    state              TEXT NOT NULL,
    cost               BIGINT NOT NULL DEFAULT 0,
    copayment          BIGINT NOT NULL DEFAULT 0,
    other_program      BIGINT NOT NULL DEFAULT 0,
    claim              BIGINT NOT NULL DEFAULT 0,
    delivery_id        TEXT,
    UNIQUE (submission_id, seq)
);
CREATE INDEX records_person ON records(insurer, card_number, fiscal_year);
CREATE INDEX records_voucher ON records(insurer, voucher);
CREATE INDEX records_pending ON records(insurer, state, delivery_id);

-- Archives built for a recipient: 種別3 to insurers, 種別2 to institutions, 種別11 to insurers.
CREATE TABLE deliveries (
    id            TEXT PRIMARY KEY,
    recipient_id  TEXT NOT NULL REFERENCES orgs(id),
    kind          BIGINT NOT NULL,          -- 3, 2 or 11 (種別)
    submission_id TEXT,                      -- the source submission when built from one
    archive_name  TEXT NOT NULL,
    blob_key      TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    records       BIGINT NOT NULL,
    claim_total   BIGINT NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    received_at   TEXT,
    received_by   TEXT
);
CREATE INDEX deliveries_recipient ON deliveries(recipient_id, created_at);

-- Durable jobs. (kind, subject) is unique so that a job is created exactly once.
CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    state        TEXT NOT NULL,              -- queued | running | done | failed
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_after    TEXT NOT NULL,
    lease_owner  TEXT,
    lease_until  TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    finished_at  TEXT,
    UNIQUE (kind, subject)
);
CREATE INDEX jobs_ready ON jobs(state, run_after);

-- Insurer reference data (docs/reference-data.md formats), one row per item; the kinds an
-- insurer has loaded are in reference_loads so that an empty answer means "not there"
-- rather than "not loaded".
CREATE TABLE reference_loads (
    insurer    TEXT NOT NULL,
    kind       TEXT NOT NULL,                -- vouchers | insured | contracts
    rows       BIGINT NOT NULL,
    loaded_at  TEXT NOT NULL,
    loaded_by  TEXT,
    PRIMARY KEY (insurer, kind)
);
CREATE TABLE vouchers (
    insurer      TEXT NOT NULL,
    kind         BIGINT NOT NULL,            -- 1 受診券, 2 利用券
    number       TEXT NOT NULL,
    card_symbol  TEXT NOT NULL DEFAULT '',
    card_number  TEXT NOT NULL DEFAULT '',
    row_json     TEXT NOT NULL,               -- the full ledger row (daiko_check::VoucherRecord fields)
    PRIMARY KEY (insurer, kind, number, card_number)
);
CREATE TABLE insured (
    insurer      TEXT NOT NULL,
    card_symbol  TEXT NOT NULL DEFAULT '',
    card_number  TEXT NOT NULL,
    valid_from   TEXT NOT NULL DEFAULT '',    -- YYYYMMDD, empty = open
    valid_to     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX insured_card ON insured(insurer, card_number);
CREATE TABLE contracts (
    id           TEXT PRIMARY KEY,
    insurer      TEXT NOT NULL,
    institution  TEXT NOT NULL,
    fiscal_year  BIGINT NOT NULL,
    row_json     TEXT NOT NULL,
    loaded_at    TEXT NOT NULL
);
CREATE INDEX contracts_key ON contracts(insurer, institution, fiscal_year);

-- The audit trail (S13-S15): append-only, each row carries the SHA-256 of the previous row's
-- hash and its own canonical content.
CREATE TABLE audit (
    seq        BIGINT PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    role       TEXT NOT NULL,
    org        TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    records    TEXT NOT NULL,
    source     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
