-- Contracts as versioned data (契約の履歴). An import or an edit adds versions; nothing is
-- overwritten or deleted: adding version n+1 only stamps superseded_at on version n. The
-- checker reads the current versions (superseded_at IS NULL) that are not withdrawn.
-- contract_json is the contract as the checker models it (daiko_check::reference::Contract);
-- the other columns are what lookups and listings use.
CREATE TABLE contract_versions (
    id            TEXT PRIMARY KEY,
    insurer       TEXT NOT NULL,            -- whose data: the insurer, or the 代表保険者
    contract_id   TEXT NOT NULL,            -- 契約番号, stable across versions
    version       INTEGER NOT NULL,          -- 1, 2, … per (insurer, contract_id)
    form          TEXT NOT NULL,            -- individual | collective
    fiscal_year   INTEGER NOT NULL,
    valid_from    TEXT NOT NULL DEFAULT '', -- YYYYMMDD, '' = open
    valid_to      TEXT NOT NULL DEFAULT '',
    position      INTEGER NOT NULL DEFAULT 0, -- order in the insurer's file (lookups keep it)
    withdrawn     INTEGER NOT NULL DEFAULT 0, -- 1: this version ends the contract
    source        TEXT NOT NULL,            -- import | edit | migration
    author        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    superseded_at TEXT,                     -- NULL: the current version
    contract_json TEXT NOT NULL,
    UNIQUE (insurer, contract_id, version)
);
-- One current version per contract, whatever races.
CREATE UNIQUE INDEX contract_versions_one_current
    ON contract_versions(insurer, contract_id) WHERE superseded_at IS NULL;
CREATE INDEX contract_versions_year ON contract_versions(fiscal_year, superseded_at);

-- The parties of a version: every insurer (the holder and a collective contract's members)
-- and every institution it binds, so that "contracts between insurer X and institution Y"
-- is two index lookups whatever the size of a collective contract's lists.
CREATE TABLE contract_parties (
    version_id TEXT NOT NULL REFERENCES contract_versions(id),
    side       TEXT NOT NULL,               -- insurer | institution
    number     TEXT NOT NULL,
    PRIMARY KEY (version_id, side, number)
);
CREATE INDEX contract_parties_number ON contract_parties(side, number);

-- Contracts loaded before versioning become version 1 of a contract named after their row.
INSERT INTO contract_versions
    (id, insurer, contract_id, version, form, fiscal_year, position, source, author,
     created_at, contract_json)
SELECT id, insurer, 'legacy-' || id, 1, 'individual', fiscal_year, 0, 'migration', 'migration',
       loaded_at, row_json
FROM contracts;
INSERT INTO contract_parties (version_id, side, number)
SELECT id, 'insurer', insurer FROM contracts;
INSERT INTO contract_parties (version_id, side, number)
SELECT id, 'institution', institution FROM contracts;
