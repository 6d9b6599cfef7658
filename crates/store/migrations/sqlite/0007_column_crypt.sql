-- S18: records' card and voucher numbers are sealed (`enc1:` envelopes, store/src/recordcrypt.rs);
-- lookups go through keyed blind indexes. Rows of a version before are sealed at open.
-- Keep in step with the other backend's 0007_column_crypt.sql.
ALTER TABLE records ADD COLUMN voucher_idx TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN card_idx TEXT NOT NULL DEFAULT '';
DROP INDEX IF EXISTS records_person;
DROP INDEX IF EXISTS records_voucher;
CREATE INDEX records_person_idx ON records(insurer, card_idx, fiscal_year);
CREATE INDEX records_voucher_idx ON records(insurer, voucher_idx);
