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
