-- An operator retries a parked saga stream (the running sagas pick it up) or skips it, recording who and why.
ALTER TABLE saga_dead_letters DROP CONSTRAINT saga_dead_letters_status;
ALTER TABLE saga_dead_letters ADD CONSTRAINT saga_dead_letters_status
    CHECK (status IN ('parked', 'waiting', 'retry', 'skipped'));
ALTER TABLE saga_dead_letters ADD COLUMN resolved_by text;
ALTER TABLE saga_dead_letters ADD COLUMN reason text;
ALTER TABLE saga_dead_letters ADD COLUMN resolved_at timestamptz;
