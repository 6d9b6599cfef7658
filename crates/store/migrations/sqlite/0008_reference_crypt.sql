-- S18: the reference tables' numbers are sealed (`enc1:` envelopes, store/src/reference.rs):
-- `vouchers.number`/`card_symbol`/`card_number` and `insured.card_symbol`/`card_number`;
-- lookups and uniqueness go through keyed blind indexes. Clear rows of a version before are
-- sealed at open (the old primary key stays, it no longer constrains sealed rows).
-- The copy of issued vouchers into an imported ledger moves from the trigger into
-- `Store::replace_vouchers` (the trigger cannot seal).
-- Keep in step with the other backend's 0008_reference_crypt.sql.
ALTER TABLE vouchers ADD COLUMN number_idx TEXT NOT NULL DEFAULT '';
ALTER TABLE vouchers ADD COLUMN card_idx TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX vouchers_sealed_key ON vouchers(insurer, kind, number_idx, card_idx)
    WHERE number_idx <> '';
CREATE INDEX vouchers_number_idx ON vouchers(insurer, kind, number_idx);
ALTER TABLE insured ADD COLUMN card_idx TEXT NOT NULL DEFAULT '';
DROP INDEX IF EXISTS insured_card;
CREATE INDEX insured_card_idx ON insured(insurer, card_idx);
DROP TRIGGER IF EXISTS invite_vouchers_after_import;
-- Card keys of issued vouchers, reminder items and returned-mail marks (store/src/invite.rs):
-- sealed, unique by the insurer's blind index of the whole card key.
ALTER TABLE invite_vouchers ADD COLUMN card_key_idx TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX invite_vouchers_card_key ON invite_vouchers(insurer, fiscal_year, kind, card_key_idx)
    WHERE card_key_idx <> '';
ALTER TABLE invite_reminder_items ADD COLUMN card_key_idx TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX invite_reminder_items_card_key
    ON invite_reminder_items(insurer, fiscal_year, round, card_key_idx) WHERE card_key_idx <> '';
ALTER TABLE invite_returned_mail ADD COLUMN card_key_idx TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX invite_returned_mail_card_key ON invite_returned_mail(insurer, card_key_idx)
    WHERE card_key_idx <> '';
-- The numbers of issued vouchers: sealed, unique by the insurer's voucher index.
ALTER TABLE invite_vouchers ADD COLUMN number_idx TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX invite_vouchers_number ON invite_vouchers(insurer, kind, number_idx)
    WHERE number_idx <> '';
