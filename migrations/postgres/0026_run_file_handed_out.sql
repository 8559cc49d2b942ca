-- Payment files are a view of committed runs (issue 16): when the CLI
-- wrote a run's pain.001 file somewhere (`pay run|approve|file --out`),
-- so `pay run` can hand out again every released run whose file nobody
-- ever received, and `pay runs` can say which ones those are.
ALTER TABLE payment_runs ADD COLUMN file_written_at BIGINT;
