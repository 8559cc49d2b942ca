-- Matching: tolerances per vendor and PO, what each invoice billed against
-- which PO line (for cumulative billing), evidence behind discrepancies,
-- bank accounts verified inside apflow.
ALTER TABLE vendors ADD COLUMN tolerances TEXT;
ALTER TABLE purchase_orders ADD COLUMN tolerances TEXT;
ALTER TABLE discrepancies ADD COLUMN detail TEXT;
ALTER TABLE discrepancies ADD COLUMN severity TEXT NOT NULL DEFAULT 'review';

CREATE TABLE invoice_matches (
    invoice_id    BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    invoice_line  BIGINT NOT NULL,
    po_number     TEXT NOT NULL,
    po_line_no    BIGINT NOT NULL,
    quantity      TEXT NOT NULL,
    amount        TEXT NOT NULL,
    PRIMARY KEY (invoice_id, invoice_line)
);
CREATE INDEX invoice_matches_by_po ON invoice_matches(po_number, po_line_no);
CREATE INDEX purchase_orders_by_vendor ON purchase_orders(vendor_id, status);
CREATE INDEX invoices_by_vendor_date ON invoices(vendor_id, invoice_date);

CREATE TABLE vendor_bank_accounts (
    vendor_id    TEXT NOT NULL,
    iban         TEXT NOT NULL,
    verified_by  TEXT NOT NULL,
    verified_at  BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, iban)
);
