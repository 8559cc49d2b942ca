-- When the payment webhook confirmed a payment (retries stop there).
ALTER TABLE payments ADD COLUMN delivered_at BIGINT;
