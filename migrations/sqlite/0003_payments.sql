-- Payment scheduling and runs: what a planned payment pays and why, and the
-- runs (SEPA files) that claim payments exactly once.
ALTER TABLE payments ADD COLUMN due_on TEXT;
ALTER TABLE payments ADD COLUMN discount TEXT NOT NULL DEFAULT '0';
ALTER TABLE payments ADD COLUMN reason TEXT;
ALTER TABLE payments ADD COLUMN creditor_name TEXT;
ALTER TABLE payments ADD COLUMN creditor_iban TEXT;
ALTER TABLE payments ADD COLUMN remittance TEXT;
ALTER TABLE payments ADD COLUMN run_id BIGINT;
ALTER TABLE payments ADD COLUMN status_reason TEXT;
CREATE INDEX payments_due ON payments(state, planned_on);

CREATE TABLE payment_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_date    TEXT NOT NULL,
    currency    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('created', 'executed', 'failed')),
    message_id  TEXT NOT NULL UNIQUE,
    total       TEXT NOT NULL,
    payments    BIGINT NOT NULL,
    version     TEXT NOT NULL,
    document    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
