-- The outbox's two foreign keys cost a check per row: about 40% of a 100,000-pattern sync_learning().
-- Its rows are written only by sync_learning() and enqueue_learnings(), from learned_patterns and with a
-- batch they have just made, so the checks never find anything. What the pattern key did besides, deleting
-- a pattern's entries with it, a statement trigger now does, once per DELETE or TRUNCATE.
ALTER TABLE learning_outbox DROP CONSTRAINT learning_outbox_pattern_id_fkey, DROP CONSTRAINT learning_outbox_batch_id_fkey;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION drop_outbox_entries_of_deleted_patterns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM learning_outbox;
  ELSE
    DELETE FROM learning_outbox o USING deleted_patterns d WHERE o.pattern_id = d.id;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER learned_patterns_delete_outbox_entries AFTER DELETE ON learned_patterns
  REFERENCING OLD TABLE AS deleted_patterns FOR EACH STATEMENT EXECUTE FUNCTION drop_outbox_entries_of_deleted_patterns();
--> statement-breakpoint
CREATE TRIGGER learned_patterns_truncate_outbox_entries AFTER TRUNCATE ON learned_patterns
  FOR EACH STATEMENT EXECUTE FUNCTION drop_outbox_entries_of_deleted_patterns();
