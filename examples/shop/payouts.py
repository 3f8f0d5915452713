"""Payouts settled with a DB-API connection (psycopg2)."""


def settle(conn, payout_id):
    cur = conn.cursor()
    cur.execute("SELECT state FROM payouts WHERE id = %s FOR UPDATE", (payout_id,))
    (state,) = cur.fetchone()
    if state == "pending":  # Bug: no else: the row lock stays held on the other path.
        cur.execute("UPDATE payouts SET state = 'settled' WHERE id = %s", (payout_id,))
        conn.commit()
