-- Instructors' bank accounts for payouts: write-side state only. The event log and Kafka see the bank's name
-- and the last four characters, never the account.
CREATE TABLE instructor_bank_accounts (
    user_id             uuid        NOT NULL,
    account_holder_name text        NOT NULL,
    account_number      text        NOT NULL,
    bank_name           text        NOT NULL,
    branch_name         text,
    branch_address      text,
    swift_code          text        NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT instructor_bank_accounts_pkey PRIMARY KEY (user_id)
);
