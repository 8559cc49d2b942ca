-- The audit log gets a MAC chain keyed outside the database (see
-- src/store/audit.rs): a gapless sequence number and an HMAC-SHA256 over
-- the previous MAC and the entry. Someone with database access can
-- recompute the plain hash chain, not the MACs. Entries written before
-- this migration keep seq and mac empty and are verified by the plain
-- hash chain; the first MAC covers the last plain hash.
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN mac TEXT;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
