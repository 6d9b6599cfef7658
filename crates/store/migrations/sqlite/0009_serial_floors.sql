-- S18: issuing a voucher no longer opens the insurer's sealed ledger to find its highest
-- number. A vouchers.csv import records, per kind and number prefix (fiscal year's last two
-- digits and the kind digit), the serial after the ledger's highest number
-- (store/src/invite.rs `next_voucher_serial`); the counters say nothing about a person.
-- Keep in step with the other backend's 0009_serial_floors.sql.
CREATE TABLE voucher_serial_floors (
    insurer      TEXT NOT NULL,
    kind         INTEGER NOT NULL,
    prefix       TEXT NOT NULL,
    next_serial  INTEGER NOT NULL,
    PRIMARY KEY (insurer, kind, prefix)
);
-- Ledgers stored before this migration: their floors are computed once at open (the only
-- time their numbers are opened for it).
CREATE TABLE voucher_serial_floors_pending (
    insurer      TEXT PRIMARY KEY
);
INSERT INTO voucher_serial_floors_pending (insurer) SELECT DISTINCT insurer FROM vouchers;
