-- An approver who is away hands their approvals to a colleague until a
-- date: the colleague may approve what rules reserve for them, within
-- their limit.
CREATE TABLE delegations (
    from_user   BIGINT NOT NULL REFERENCES users(id),
    to_user     BIGINT NOT NULL REFERENCES users(id),
    until       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX delegations_to ON delegations(to_user);
