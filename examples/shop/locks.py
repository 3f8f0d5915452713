"""The shop's order lock in Redis: taken in two commands and released by anyone."""

import redis

r = redis.Redis()


def cancel_order(order_id):
    key = f"lock:order:{order_id}"
    if not r.setnx(key, "1"):  # Bug: a crash before the expire leaves the lock forever.
        return False
    r.expire(key, 30)
    try:
        refund(order_id)
    finally:
        r.delete(key)  # Bug: may delete the lock of whoever took it after ours expired.
    return True


def cancel_order_safely(order_id, token):
    lock = r.lock(f"lock:order:{order_id}", timeout=30)
    if not lock.acquire(blocking=False):
        return False
    try:
        refund(order_id)
    finally:
        lock.release()
    return True


def refund(order_id):
    return order_id
