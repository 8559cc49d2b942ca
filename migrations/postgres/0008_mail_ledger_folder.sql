-- A mailbox can watch several folders, and UIDs are only unique within one
-- folder: the ledger key gains the folder. Rows from before were all from
-- the single watched folder, INBOX by default.
ALTER TABLE mail_ledger ADD COLUMN folder TEXT NOT NULL DEFAULT 'INBOX';
ALTER TABLE mail_ledger ALTER COLUMN folder DROP DEFAULT;
ALTER TABLE mail_ledger DROP CONSTRAINT mail_ledger_pkey;
ALTER TABLE mail_ledger ADD PRIMARY KEY (mailbox, folder, uid_validity, uid);
