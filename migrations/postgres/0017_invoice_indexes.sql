-- Every invoice screen and every routing decision reads an invoice's match
-- results and review tasks by invoice id; without these indexes each read
-- scans the whole table, and ingest slows as the tables grow.
CREATE INDEX IF NOT EXISTS match_results_by_invoice ON match_results(invoice_id);
CREATE INDEX IF NOT EXISTS review_tasks_by_invoice ON review_tasks(invoice_id);
