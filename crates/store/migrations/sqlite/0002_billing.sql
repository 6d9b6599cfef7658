-- Billing month close (請求・支払, issue 4; docs/operations.md "Billing month"). Keep in step
-- with ../postgres/0002_billing.sql. Money is integer yen. Months are "YYYY-MM" text.

-- One row per closed month: what was frozen and when. Its existence makes a second close of
-- the month a no-op.
CREATE TABLE billing_months (
    month         TEXT PRIMARY KEY,
    closed_at     TEXT NOT NULL,
    closed_by     TEXT NOT NULL,
    -- the reception cut-off used: first instant after the deadline day (JST), RFC 3339 UTC
    cutoff        TEXT NOT NULL,
    calendar_json TEXT NOT NULL,             -- the agency calendar in force at the close
    fees_json     TEXT NOT NULL,             -- the fee schedule in force at the close
    lines         INTEGER NOT NULL,
    claim_total   INTEGER NOT NULL,
    -- records left out because their ledger key was already paid (U-01/U-05), JSON array
    excluded_json TEXT NOT NULL DEFAULT '[]'
);

-- The frozen claim lines of a month: one per billed record, never billed again.
CREATE TABLE billing_lines (
    record_id       TEXT PRIMARY KEY REFERENCES records(id),
    month           TEXT NOT NULL REFERENCES billing_months(month),
    insurer         TEXT NOT NULL,
    institution     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('checkup', 'guidance')),
    card_number     TEXT NOT NULL,
    voucher         TEXT NOT NULL,
    guidance_timing TEXT,
    service_date    TEXT NOT NULL,           -- YYYYMMDD
    fiscal_year     INTEGER NOT NULL,
    cost            INTEGER NOT NULL,
    copayment       INTEGER NOT NULL,
    other_program   INTEGER NOT NULL,
    claim           INTEGER NOT NULL,
    late            INTEGER NOT NULL         -- 1: 月遅れ (service month before M-1)
);
CREATE INDEX billing_lines_insurer ON billing_lines(month, insurer);
CREATE INDEX billing_lines_institution ON billing_lines(month, institution, record_id);

-- The never-twice ledger (U-01, U-05): checkup key C:insurer:card:FY, guidance key
-- G:insurer:voucher:timing. A 過誤 offset reverses a row: its key gets the suffix
-- "~<offset id>", which frees the key for a corrected claim.
CREATE TABLE billing_ledger (
    key        TEXT PRIMARY KEY,
    record_id  TEXT NOT NULL UNIQUE,
    month      TEXT NOT NULL,
    state      TEXT NOT NULL                 -- billed | reversed
);
CREATE INDEX billing_ledger_month ON billing_ledger(month);

-- Offsets: 過誤 (別表10 reason code) and negative payments carried forward ("carry").
-- month NULL = pending; it joins the next close whose cut-off is after requested_at.
CREATE TABLE billing_offsets (
    id            TEXT PRIMARY KEY,
    insurer       TEXT NOT NULL,
    institution   TEXT NOT NULL,
    record_id     TEXT,
    reason_code   TEXT NOT NULL,
    reason_text   TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    requested_at  TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    month         TEXT,
    origin_month  TEXT
);
CREATE INDEX billing_offsets_month ON billing_offsets(month);
-- one 過誤 per record: it takes back the whole claim
CREATE UNIQUE INDEX billing_offsets_record ON billing_offsets(record_id);

-- Institutions' bank accounts for the 全銀 transfer file (daiko_billing::BankAccount JSON).
CREATE TABLE bank_accounts (
    org_id       TEXT PRIMARY KEY REFERENCES orgs(id),
    account_json TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL
);
