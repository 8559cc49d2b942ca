-- The review queue pages in SQL (issue 19/21): a view is a status filter
-- sorted by due date, and the reason filter looks invoices up by code.
CREATE INDEX invoices_by_status_due ON invoices(status, due_date, id);
CREATE INDEX discrepancies_by_code ON discrepancies(code, invoice_id);
