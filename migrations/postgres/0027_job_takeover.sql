-- Fast takeover (issue 16): workers renew their job's lease every few
-- seconds, so a lease that ran out means the process is gone or stalled.
-- The claim that takes such a job records whose it was, for the log and
-- the queue.
ALTER TABLE jobs ADD COLUMN taken_over_from TEXT;
