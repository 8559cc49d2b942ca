-- Where a vendor prints a field, learned from a clerk's correction: the
-- vendor's next invoices read that field from the same place.
CREATE TABLE vendor_field_places (
    vendor_id     TEXT NOT NULL,
    field         TEXT NOT NULL,
    page          BIGINT NOT NULL,
    x0 DOUBLE PRECISION NOT NULL, y0 DOUBLE PRECISION NOT NULL,
    x1 DOUBLE PRECISION NOT NULL, y1 DOUBLE PRECISION NOT NULL,
    learned_from  BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, field)
);
