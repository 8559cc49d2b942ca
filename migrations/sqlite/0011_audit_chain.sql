-- The audit log becomes a hash chain: each entry stores the hash of the one
-- before it and its own hash over both, so editing or deleting an entry
-- (after dropping the append-only triggers, say) breaks the chain where it
-- happened (`apflow audit verify`). Entries written before this migration
-- have no hashes and are reported as unchained.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
