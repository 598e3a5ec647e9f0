-- The central role (issue 16): what an instance sends the central database, and how it is merged there.
-- Every database gets these tables: the central database is a singularity database like any other (its
-- maintenance tasks run on it too); on an instance the central_* tables stay empty.
-- learned_patterns gains use counts: an agent's use of a pattern's artifact (record_artifact_use, 0022)
-- counts here too, so the counts travel to the central database with the pattern's next version.
ALTER TABLE learned_patterns
  ADD COLUMN uses bigint NOT NULL DEFAULT 0,
  ADD COLUMN successes bigint NOT NULL DEFAULT 0,
  ADD CONSTRAINT learned_patterns_uses_check CHECK (successes >= 0 AND successes <= uses);
