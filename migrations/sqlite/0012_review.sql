-- What people do on the review queue: field corrections (who, when, old,
-- new; also the training signal for the vendor's next invoice) and
-- approval requests with their decisions.
CREATE TABLE corrections (
    invoice_id  BIGINT NOT NULL REFERENCES invoices(id),
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    at          BIGINT NOT NULL
);
CREATE INDEX corrections_by_invoice ON corrections(invoice_id);
-- The placeholder table from the first schema was never written to.
DROP TABLE approvals;
CREATE TABLE approvals (
    invoice_id    BIGINT NOT NULL REFERENCES invoices(id),
    requested_by  BIGINT NOT NULL REFERENCES users(id),
    requested_at  BIGINT NOT NULL,
    decided_by    BIGINT REFERENCES users(id),
    decided_at    BIGINT,
    decision      TEXT,
    comment       TEXT
);
CREATE INDEX approvals_by_invoice ON approvals(invoice_id);
