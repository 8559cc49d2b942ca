-- Cost centres: which budget a purchase order charges, and which budgets
-- an approver answers for (comma-separated; empty: any).
CREATE TABLE po_cost_centres (
    po_number    TEXT PRIMARY KEY,
    cost_centre  TEXT NOT NULL
);
ALTER TABLE users ADD COLUMN cost_centres TEXT;
