-- EN 16931 BT-149: the quantity a line's unit price is for ("12.50 per 100").
ALTER TABLE invoice_lines ADD COLUMN price_base_quantity TEXT;
