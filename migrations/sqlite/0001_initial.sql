-- apflow schema, SQLite dialect. Keep in step with ../postgres/0001_initial.sql:
-- same tables, same columns, same meaning. Money is decimal text (exact),
-- dates are ISO-8601 text, instants are Unix milliseconds.

CREATE TABLE vendors (
    vendor_id      TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    aliases        TEXT NOT NULL DEFAULT '[]',
    vat_id         TEXT,
    ibans          TEXT NOT NULL DEFAULT '[]',
    payment_terms  TEXT,
    currency       TEXT,
    email_domains  TEXT NOT NULL DEFAULT '[]',
    updated_at     BIGINT NOT NULL
);

CREATE TABLE purchase_orders (
    po_number   TEXT PRIMARY KEY,
    vendor_id   TEXT NOT NULL,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    updated_at  BIGINT NOT NULL
);

CREATE TABLE po_lines (
    po_number    TEXT NOT NULL REFERENCES purchase_orders(po_number) ON DELETE CASCADE,
    line_no      BIGINT NOT NULL,
    sku          TEXT,
    description  TEXT NOT NULL,
    quantity     TEXT NOT NULL,
    unit         TEXT,
    unit_price   TEXT NOT NULL,
    tax_rate     TEXT,
    PRIMARY KEY (po_number, line_no)
);

CREATE TABLE goods_receipts (
    receipt_id   TEXT PRIMARY KEY,
    po_number    TEXT NOT NULL,
    received_on  TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE receipt_lines (
    receipt_id  TEXT NOT NULL REFERENCES goods_receipts(receipt_id) ON DELETE CASCADE,
    line_no     BIGINT NOT NULL,
    quantity    TEXT NOT NULL,
    PRIMARY KEY (receipt_id, line_no)
);
CREATE INDEX receipts_by_po ON goods_receipts(po_number);

CREATE TABLE documents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256       TEXT NOT NULL UNIQUE,
    filename     TEXT NOT NULL,
    media_type   TEXT,
    source       TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    content      BLOB NOT NULL,
    status       TEXT NOT NULL,
    reason       TEXT,
    received_at  BIGINT NOT NULL
);

CREATE TABLE invoices (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id        BIGINT NOT NULL UNIQUE REFERENCES documents(id),
    status             TEXT NOT NULL,
    extraction_source  TEXT NOT NULL,
    vendor_id          TEXT,
    invoice_number     TEXT,
    invoice_number_key TEXT,
    invoice_date       TEXT,
    due_date           TEXT,
    currency           TEXT,
    net_amount         TEXT,
    tax_amount         TEXT,
    total_amount       TEXT,
    po_number          TEXT,
    iban               TEXT,
    duplicate_of       BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX invoices_by_status ON invoices(status);
CREATE INDEX invoices_by_number ON invoices(vendor_id, invoice_number_key);

CREATE TABLE invoice_fields (
    invoice_id  BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    value       TEXT NOT NULL,
    confidence  DOUBLE PRECISION NOT NULL,
    page        BIGINT,
    x0 DOUBLE PRECISION, y0 DOUBLE PRECISION, x1 DOUBLE PRECISION, y1 DOUBLE PRECISION,
    PRIMARY KEY (invoice_id, field)
);

CREATE TABLE invoice_lines (
    invoice_id   BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    line_no      BIGINT NOT NULL,
    description  TEXT,
    sku          TEXT,
    quantity     TEXT,
    unit         TEXT,
    unit_price   TEXT,
    tax_rate     TEXT,
    amount       TEXT,
    confidence   DOUBLE PRECISION NOT NULL,
    page         BIGINT,
    x0 DOUBLE PRECISION, y0 DOUBLE PRECISION, x1 DOUBLE PRECISION, y1 DOUBLE PRECISION,
    PRIMARY KEY (invoice_id, line_no)
);

CREATE TABLE match_results (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id   BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    po_number    TEXT,
    outcome      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE discrepancies (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id   BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    code         TEXT NOT NULL,
    field        TEXT,
    message      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX discrepancies_by_invoice ON discrepancies(invoice_id);

CREATE TABLE review_tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id   BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    state        TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    assigned_to  TEXT,
    created_at   BIGINT NOT NULL,
    closed_at    BIGINT
);

CREATE TABLE approvals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id   BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    approver     TEXT NOT NULL,
    decision     TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    comment      TEXT,
    created_at   BIGINT NOT NULL
);

CREATE TABLE payments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id       BIGINT NOT NULL UNIQUE REFERENCES invoices(id),
    idempotency_key  TEXT NOT NULL UNIQUE,
    amount           TEXT NOT NULL,
    currency         TEXT NOT NULL,
    planned_on       TEXT NOT NULL,
    state            TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    document_id   BIGINT NOT NULL REFERENCES documents(id),
    state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL,
    run_after     BIGINT NOT NULL,
    lease_until   BIGINT,
    worker        TEXT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    started_at    BIGINT,
    finished_at   BIGINT,
    UNIQUE (document_id, kind)
);
CREATE INDEX jobs_ready ON jobs(state, run_after);
