-- Embeddings of knowledge artifacts, and the cache that keeps the same text from being embedded twice.
-- A vector is a plain real[] beside the model that made it and its dimension, so the schema is the same
-- with and without pgvector: without it, search is exact (a dot product over the model's rows, since
-- vectors are unit length); with it, singularity adds per model a partial HNSW index over the
-- expression embedding::vector(dim) (WHERE embedding_model = that model), so one index never mixes
-- models or dimensions. A migration cannot create that index: pgvector may be missing, and the
-- dimension is the model's.
ALTER TABLE knowledge_artifacts
  -- size:mtime of the file when it was loaded, and a fingerprint of the artifact schemas: a file with the
  -- same stamp is unchanged and is not read again (a changed schema re-validates every file).
  ADD COLUMN file_stamp text,
  ADD COLUMN embedding real[],
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_dim integer,
  -- content_hash of the text the vector was made from: a changed artifact is embedded again.
  ADD COLUMN embedded_hash text,
  ADD CONSTRAINT knowledge_artifacts_embedding_check CHECK (
    (embedding IS NULL) = (embedding_model IS NULL) AND (embedding IS NULL) = (embedding_dim IS NULL) AND
    (embedding IS NULL) = (embedded_hash IS NULL) AND (embedding IS NULL OR cardinality(embedding) = embedding_dim));
--> statement-breakpoint
-- Vectors by (model, sha256 of the text): ingest and the knowledge tasks look here before embedding.
CREATE TABLE embedding_cache (
  model text NOT NULL,
  text_hash text NOT NULL,
  dimension integer NOT NULL CHECK (dimension > 0),
  embedding real[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, text_hash),
  CONSTRAINT embedding_cache_length_check CHECK (cardinality(embedding) = dimension)
);
