-- Bank account numbers are sealed with the server's data key (AES-256-GCM, bound to the account's user id).
-- A command API seals any number still in clear when it starts, and clears the plain column.
ALTER TABLE instructor_bank_accounts ALTER COLUMN account_number DROP NOT NULL;
ALTER TABLE instructor_bank_accounts ADD COLUMN account_number_sealed bytea;
ALTER TABLE instructor_bank_accounts ADD CONSTRAINT instructor_bank_accounts_number_kept
    CHECK (account_number IS NOT NULL OR account_number_sealed IS NOT NULL);
