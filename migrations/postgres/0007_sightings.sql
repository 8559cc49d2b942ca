-- The same bytes arriving again (another mailbox, a re-forward, a re-drop):
-- one document, and one sighting row per later arrival.
CREATE TABLE document_sightings (
    document_id  BIGINT NOT NULL REFERENCES documents(id),
    filename     TEXT NOT NULL,
    source       TEXT NOT NULL,
    seen_at      BIGINT NOT NULL
);
CREATE INDEX document_sightings_by_document ON document_sightings(document_id);
