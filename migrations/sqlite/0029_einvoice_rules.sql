-- EN 16931 business rules an e-invoice breaks (issue 18), as found when it
-- was read: rule id (BR-CO-15), fatal or warning, the message with the
-- values, and the XML path. A fatal one routes the invoice to review with
-- reason einvoice_invalid; the invoice page lists them all.
CREATE TABLE einvoice_violations (
    invoice_id  BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    message     TEXT NOT NULL,
    path        TEXT NOT NULL,
    PRIMARY KEY (invoice_id, seq)
);
