-- A mailbox can watch several folders, and UIDs are only unique within one
-- folder: the ledger key gains the folder. Rows from before were all from
-- the single watched folder, INBOX by default.
CREATE TABLE mail_ledger_new (
    mailbox       TEXT NOT NULL,
    folder        TEXT NOT NULL,
    uid_validity  BIGINT NOT NULL,
    uid           BIGINT NOT NULL,
    message_id    TEXT,
    documents     BIGINT NOT NULL,
    imported_at   BIGINT NOT NULL,
    PRIMARY KEY (mailbox, folder, uid_validity, uid)
);
INSERT INTO mail_ledger_new (mailbox, folder, uid_validity, uid, message_id, documents, imported_at)
    SELECT mailbox, 'INBOX', uid_validity, uid, message_id, documents, imported_at FROM mail_ledger;
DROP TABLE mail_ledger;
ALTER TABLE mail_ledger_new RENAME TO mail_ledger;
