-- Password guessing is slowed per user name and per client address: one
-- row per key, counted *before* the password is checked (an atomic upsert,
-- so parallel attempts cannot all slip through) and deleted or decremented
-- when a login succeeds. After a few failures each attempt must wait an
-- exponentially growing delay (`delay_ms`) until `blocked_until`; rows idle
-- for longer than the decay window start over.
CREATE TABLE login_throttle (
    throttle_key  TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    delay_ms      BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
