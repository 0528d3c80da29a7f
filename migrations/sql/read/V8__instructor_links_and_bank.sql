-- An instructor's public links, and which bank account is set for payouts (bank name, last four characters;
-- the account itself never leaves the write side).
ALTER TABLE user_directory ADD COLUMN social_links jsonb;
ALTER TABLE user_directory ADD COLUMN bank_name text;
ALTER TABLE user_directory ADD COLUMN bank_account_last4 text;
