-- Runs above the configured limit wait for an approver before their file
-- is released.
ALTER TABLE payment_runs ADD COLUMN needs_approval BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_runs ADD COLUMN approved_by TEXT;
