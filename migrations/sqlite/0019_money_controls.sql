-- Money controls (issue 15).
-- An approver may reopen an approved or rejected invoice: its approval
-- stays on record, marked as reopened, and no longer counts.
ALTER TABLE approvals ADD COLUMN reopened_at BIGINT;
ALTER TABLE approvals ADD COLUMN reopened_by BIGINT REFERENCES users(id);
-- Where a verified bank account came from: 'verified' (a person confirmed
-- it) or 'import' (master data, when the vendor was created).
ALTER TABLE vendor_bank_accounts ADD COLUMN source TEXT NOT NULL DEFAULT 'verified';
-- A bank account somebody proposed for a vendor (a master-data import
-- that changes a vendor's IBANs): pending until a second person verifies
-- or refuses it. Refusals are kept so the next look at it knows.
CREATE TABLE bank_account_changes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_id    TEXT NOT NULL,
    iban         TEXT NOT NULL,
    source       TEXT NOT NULL,
    proposed_by  TEXT NOT NULL,
    proposed_at  BIGINT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending',
    decided_by   TEXT,
    decided_at   BIGINT,
    comment      TEXT
);
CREATE INDEX bank_account_changes_by_vendor ON bank_account_changes(vendor_id, iban);
