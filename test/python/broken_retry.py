"""The guide's client (guide_retry.py) with exactly one thing done wrong, to prove the emulator's
retry audit catches it. Each variant changes one thing (a line of the loop, the key, or the
redelivery around it) and nothing else.

Usage: python3 broken_retry.py VARIANT [guide_retry.py's options]

  new-key-per-attempt  the guide's WRONG key: str(uuid.uuid4()) inside the retry loop (same-key-on-retry)
  retries-client-error 422 added to RETRYABLE_STATUS, so a schema error is retried (no-retry-on-client-error)
  ignores-retry-after  sleep_for = backoff, not max(retry_after, backoff) (honours-retry-after)
  no-key               no Idempotency-Key header at all (idempotency-key-on-writes)
  no-wait              the retry loop without its time.sleep (backs-off)
  no-redelivery        with_retry alone: a lost response escapes as an exception (lost-ack-replayed)
"""
import random
import sys
import time
import uuid

import guide_retry
from guide_retry import RETRYABLE_STATUS, logger


def with_retry_ignoring_retry_after(fn, max_attempts: int = 5, base_delay: float = 1.0, max_delay: float = 60.0):
    """The guide's with_retry, except that it sleeps its own backoff whatever Retry-After says."""
    for attempt in range(max_attempts):
        resp = fn()
        if resp.status_code < 400:
            return resp.json()
        if resp.status_code not in RETRYABLE_STATUS:
            resp.raise_for_status()
        if attempt == max_attempts - 1:
            resp.raise_for_status()
        backoff = min(max_delay, base_delay * (2 ** attempt) + random.uniform(0, 1))
        sleep_for = backoff  # the one change: Retry-After is not read
        logger.warning("API error %s (attempt %d/%d), retrying in %.1fs", resp.status_code, attempt + 1, max_attempts, sleep_for)
        time.sleep(sleep_for)


def with_retry_without_waiting(fn, max_attempts: int = 5, base_delay: float = 1.0, max_delay: float = 60.0):
    """The guide's with_retry, except that it retries at once (the one change: no time.sleep)."""
    for attempt in range(max_attempts):
        resp = fn()
        if resp.status_code < 400:
            return resp.json()
        if resp.status_code not in RETRYABLE_STATUS:
            resp.raise_for_status()
        if attempt == max_attempts - 1:
            resp.raise_for_status()
        logger.warning("API error %s (attempt %d/%d), retrying at once", resp.status_code, attempt + 1, max_attempts)


def run(variant, argv):
    if variant == "new-key-per-attempt":
        # WRONG — generates a new key on each attempt, defeating idempotency (the guide's words)
        return guide_retry.main(argv, key_for=lambda event: str(uuid.uuid4()))
    if variant == "retries-client-error":
        RETRYABLE_STATUS.add(422)  # the same set object with_retry reads
        return guide_retry.main(argv)
    if variant == "ignores-retry-after":
        return guide_retry.main(argv, retry=with_retry_ignoring_retry_after)
    if variant == "no-key":
        return guide_retry.main(argv, key_for=lambda event: None)
    if variant == "no-wait":
        return guide_retry.main(argv, retry=with_retry_without_waiting)
    if variant == "no-redelivery":
        return guide_retry.main(argv, redeliver=False)
    print(f"broken_retry.py: unknown variant {variant!r}\n\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(run(sys.argv[1], sys.argv[2:]))
