-- Checkup invitations (健診案内, docs/invitations.md). Keep in step with
-- ../postgres/0003_invite.sql. `insurer` is the 8-digit 保険者番号 (as in `vouchers`).

-- Per-insurer settings of the service (voucher co-payments and expiry, target filter,
-- reminder variants, sender lines): JSON of daiko_pipeline::invite::InviteSettings.
CREATE TABLE invite_settings (
    insurer       TEXT PRIMARY KEY,
    settings_json TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL
);

-- Roster imports (被保険者名簿). History is kept: every import is a new version; the
-- newest version is the roster in force.
CREATE TABLE invite_rosters (
    id           TEXT PRIMARY KEY,
    insurer      TEXT NOT NULL,
    version      INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    encoding     TEXT NOT NULL,               -- utf8 | utf8_bom | shift_jis
    members      INTEGER NOT NULL,
    file_name    TEXT NOT NULL DEFAULT '',
    imported_by  TEXT NOT NULL,
    imported_at  TEXT NOT NULL,
    UNIQUE (insurer, version)
);
CREATE TABLE invite_members (
    roster_id    TEXT NOT NULL REFERENCES invite_rosters(id),
    seq          INTEGER NOT NULL,
    card_symbol  TEXT NOT NULL,
    card_number  TEXT NOT NULL,
    card_branch  TEXT NOT NULL,
    member_json  TEXT NOT NULL,               -- daiko_invite::Member
    PRIMARY KEY (roster_id, seq)
);

-- Next voucher serial per (insurer, fiscal year, kind 1 受診券 / 2 利用券).
CREATE TABLE invite_serials (
    insurer      TEXT NOT NULL,
    fiscal_year  INTEGER NOT NULL,
    kind         INTEGER NOT NULL,
    next_serial  INTEGER NOT NULL,
    PRIMARY KEY (insurer, fiscal_year, kind)
);

-- Vouchers issued by the agency for the insurer. One voucher of a kind per member and
-- fiscal year. `ledger_json` is the checker's ledger row, copied into `vouchers` when
-- issued and again after every vouchers.csv import (trigger below), so stage D sees the
-- union of the insurer's own ledger and the issued vouchers.
CREATE TABLE invite_vouchers (
    insurer      TEXT NOT NULL,
    fiscal_year  INTEGER NOT NULL,
    kind         INTEGER NOT NULL,
    number       TEXT NOT NULL,
    card_symbol  TEXT NOT NULL,
    card_number  TEXT NOT NULL,
    card_branch  TEXT NOT NULL,
    roster_id    TEXT NOT NULL,
    voucher_json TEXT NOT NULL,               -- daiko_invite::IssuedVoucher
    ledger_json  TEXT NOT NULL,               -- row_json of `vouchers`
    issued_at    TEXT NOT NULL,
    issued_by    TEXT NOT NULL,
    PRIMARY KEY (insurer, kind, number),
    UNIQUE (insurer, fiscal_year, kind, card_symbol, card_number, card_branch)
);

-- `replace_vouchers` (a vouchers.csv import) deletes the insurer's ledger rows and then
-- records the load in reference_loads; at that moment the issued vouchers are put back.
CREATE TRIGGER invite_vouchers_after_import AFTER INSERT ON reference_loads
WHEN NEW.kind = 'vouchers'
BEGIN
    INSERT OR IGNORE INTO vouchers (insurer, kind, number, card_symbol, card_number, row_json)
    SELECT insurer, kind, number, card_symbol, card_number, ledger_json
    FROM invite_vouchers WHERE insurer = NEW.insurer;
END;

-- Letter templates, versioned per insurer (the newest is used).
CREATE TABLE invite_templates (
    insurer       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    template_json TEXT NOT NULL,              -- daiko_invite::LetterTemplate
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    PRIMARY KEY (insurer, version)
);

-- Letter runs (one per `letters` command/request).
CREATE TABLE invite_letter_runs (
    id               TEXT PRIMARY KEY,
    insurer          TEXT NOT NULL,
    fiscal_year      INTEGER NOT NULL,
    roster_id        TEXT NOT NULL,
    template_version INTEGER NOT NULL,        -- 0 = the built-in template
    letters          INTEGER NOT NULL,
    files            INTEGER NOT NULL,
    unmailable       INTEGER NOT NULL,
    barcoded         INTEGER NOT NULL,
    run_at           TEXT NOT NULL,
    run_by           TEXT NOT NULL
);
CREATE INDEX invite_letter_runs_insurer ON invite_letter_runs(insurer, fiscal_year);

-- Reminder rounds (受診勧奨) and who got which message variant.
CREATE TABLE invite_reminder_rounds (
    insurer       TEXT NOT NULL,
    fiscal_year   INTEGER NOT NULL,
    round         INTEGER NOT NULL,
    sent_on       TEXT NOT NULL,              -- YYYY-MM-DD
    variants_json TEXT NOT NULL,              -- ["A", "B", …]
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    PRIMARY KEY (insurer, fiscal_year, round)
);
CREATE TABLE invite_reminder_items (
    insurer      TEXT NOT NULL,
    fiscal_year  INTEGER NOT NULL,
    round        INTEGER NOT NULL,
    card_symbol  TEXT NOT NULL,
    card_number  TEXT NOT NULL,
    card_branch  TEXT NOT NULL,
    variant      INTEGER NOT NULL,
    PRIMARY KEY (insurer, fiscal_year, round, card_symbol, card_number, card_branch)
);

-- Mail returned by the post office (宛所不明): no more letters or reminders.
CREATE TABLE invite_returned_mail (
    insurer      TEXT NOT NULL,
    card_symbol  TEXT NOT NULL,
    card_number  TEXT NOT NULL,
    card_branch  TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    marked_at    TEXT NOT NULL,
    marked_by    TEXT NOT NULL,
    PRIMARY KEY (insurer, card_symbol, card_number, card_branch)
);
