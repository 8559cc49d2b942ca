-- Messages imported from mailboxes: one row per mailbox + UIDVALIDITY + UID,
-- so a message is imported once across restarts, and again only if the
-- server renumbers the folder (new UIDVALIDITY; contents dedup by hash).
CREATE TABLE mail_ledger (
    mailbox       TEXT NOT NULL,
    uid_validity  BIGINT NOT NULL,
    uid           BIGINT NOT NULL,
    message_id    TEXT,
    documents     BIGINT NOT NULL,
    imported_at   BIGINT NOT NULL,
    PRIMARY KEY (mailbox, uid_validity, uid)
);
