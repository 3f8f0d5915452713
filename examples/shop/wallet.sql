-- The same shop's wallet maintenance script (PostgreSQL).
CREATE TABLE wallets (
    id bigint PRIMARY KEY,
    balance numeric(12, 2) NOT NULL CHECK (balance >= 0)
);

BEGIN;
SELECT balance FROM wallets WHERE id = 7 FOR UPDATE;
UPDATE wallets SET balance = 90.00 WHERE id = 7;
COMMIT;

-- Bug: nothing stops the balance going negative, and a rerun charges twice.
BEGIN;
UPDATE wallets_unchecked SET balance = balance - 10.00 WHERE id = 7;
COMMIT;
