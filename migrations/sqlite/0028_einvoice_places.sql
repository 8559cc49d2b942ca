-- Layouts learned from e-invoices (issue 17): the XML of a vendor's hybrid
-- PDF labels where that vendor prints each field, so its later paper and
-- scanned invoices are read from the same places. A place a clerk pointed
-- at ('correction') is never replaced by one an e-invoice taught.
ALTER TABLE vendor_field_places ADD COLUMN taught_by TEXT NOT NULL DEFAULT 'correction';
