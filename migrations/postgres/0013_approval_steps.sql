-- Invoices above the two-approver threshold need two different approvers:
-- the first approval is a step, recorded here; the second decides.
CREATE TABLE approval_steps (
    invoice_id   BIGINT NOT NULL REFERENCES invoices(id),
    approver_id  BIGINT NOT NULL REFERENCES users(id),
    at           BIGINT NOT NULL,
    comment      TEXT
);
CREATE INDEX approval_steps_by_invoice ON approval_steps(invoice_id);
