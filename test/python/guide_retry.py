"""The vendor guide's retry loop, run against the emulator.

The block between the two rules below is copied as written from
/work/shared/api-docs/error-handling-and-retries.txt ("Retry strategy"); only the token and the
base URL come from the environment instead (CDP_TOKEN, CDP_BASE_URL, as `cdp-emulator run` and
test/integration/python-retry.test.ts set them). Everything after it is what the guide leaves to
the reader: `logger` (the guide uses one it never defines), the upsert from its "Usage", the
voluntary backpressure from its "Rate limit handling", keys tied to the logical event
("Idempotency"), and a small main.

Usage: python3 guide_retry.py [--events N] [--bad N] [--base-delay S]
Exits 0 when every good event was written and every bad one (a field the schema does not have:
422) was given up on; prints one JSON line saying what happened.
"""

# ---------------------------------------------------------------- the guide, as written
import os, random, time, requests

API_KEY = os.environ["CDP_TOKEN"]
BASE_URL = os.environ["CDP_BASE_URL"]
RETRYABLE_STATUS = {409, 429, 500, 502, 503, 504}

def with_retry(
    fn,
    max_attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
):
    for attempt in range(max_attempts):
        resp = fn()
        if resp.status_code < 400:
            return resp.json()

        if resp.status_code not in RETRYABLE_STATUS:
            resp.raise_for_status()  # Non-retryable — propagate immediately

        if attempt == max_attempts - 1:
            resp.raise_for_status()  # Exhausted attempts

        # Respect Retry-After for rate limits
        retry_after = float(resp.headers.get("Retry-After", 0))
        backoff = min(max_delay, base_delay * (2 ** attempt) + random.uniform(0, 1))
        sleep_for = max(retry_after, backoff)

        logger.warning(
            "API error %s (attempt %d/%d), retrying in %.1fs",
            resp.status_code, attempt + 1, max_attempts, sleep_for,
        )
        time.sleep(sleep_for)
# ---------------------------------------------------------------- end of the guide's code

import argparse
import json
import logging
import sys
import uuid

logger = logging.getLogger("guide_retry")

# How many times the event source hands an event over again when its write got no response at
# all (the connection was cut): with_retry only sees responses, so a lost acknowledgement leaves
# it as an exception, and the guide's answer is the key tied to the logical event: the event
# comes back (a webhook provider retries on the 503 the guide's handler returns, a queue
# redelivers) and its write is replayed under the same key.
MAX_DELIVERIES = 3


def guide_key(event):
    """The guide's CORRECT key: tied to the logical event, the same on every attempt."""
    return event["event_id"]


def make_events(count, bad):
    """`count` logical events, the last `bad` of them with a field the schema does not have."""
    run = uuid.uuid4().hex[:8]
    events = []
    for index in range(count):
        record = {"email": f"py-{run}-{index}@example.com", "first_name": f"Py{index}", "signup_source": "python-guide"}
        if index >= count - bad:
            record["favourite_colour"] = "teal"  # not in the profiles schema: 422 REQUEST_SCHEMA
        events.append({"event_id": f"evt-{run}-{index}", "record": record, "bad": index >= count - bad})
    return events


def post_upsert(event, key_for):
    """The guide's do_upsert ("Usage"), plus its voluntary backpressure on every response."""
    idempotency_key = key_for(event)
    record = event["record"]
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "Content-Type": "application/json",
    }
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    response = requests.post(
        f"{BASE_URL}/records/profiles/upsert",
        headers=headers,
        json={"record": record, "matchKey": "email"},
        timeout=30,
    )
    # "Rate limit handling": monitor X-RateLimit-Remaining on every response.
    remaining = int(response.headers.get("X-RateLimit-Remaining", 9999))
    if remaining < 10:
        logger.warning("Rate limit nearly exhausted: %d remaining", remaining)
        time.sleep(0.5)  # Voluntary backpressure
    return response


def deliver(event, *, retry, key_for, base_delay, redeliver):
    """One logical event: the retry loop, handed the event again when a response was lost."""
    for delivery in range(MAX_DELIVERIES):
        try:
            return retry(lambda: post_upsert(event, key_for), base_delay=base_delay)
        except requests.ConnectionError as error:
            if not redeliver or delivery == MAX_DELIVERIES - 1:
                raise
            wait = base_delay * (2 ** delivery) + random.uniform(0, 1)
            logger.warning("No response for %s (%s); redelivered in %.1fs", event["event_id"], type(error).__name__, wait)
            time.sleep(wait)
    return None


def main(argv=None, *, retry=None, key_for=guide_key, redeliver=True):
    """Runs the events through `retry` (the guide's with_retry unless a variant passes its own)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=8, help="logical upserts to make (default 8)")
    parser.add_argument("--bad", type=int, default=0, help="how many of them carry an unknown field (422)")
    parser.add_argument("--base-delay", type=float, default=0.05, help="with_retry's base_delay in seconds (default 0.05)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    retry = retry or with_retry

    def outcome(event):
        try:
            deliver(event, retry=retry, key_for=key_for, base_delay=args.base_delay, redeliver=redeliver)
            return event, "written", None
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else None
            # The guide's dead-letter queue: a client error is given up on, not retried.
            return event, "dead-lettered" if status is not None and 400 <= status < 500 and status not in (409, 429) else "failed", status
        except requests.RequestException as error:
            return event, "failed", type(error).__name__

    results = [outcome(event) for event in make_events(args.events, args.bad)]

    good = [result for event, result, _ in results if not event["bad"]]
    bad = [result for event, result, _ in results if event["bad"]]
    summary = {
        "written": good.count("written"),
        "deadLettered": bad.count("dead-lettered"),
        "failed": [{"event": event["event_id"], "outcome": result, "detail": detail} for event, result, detail in results
                   if result != ("dead-lettered" if event["bad"] else "written")],
    }
    print(json.dumps(summary))
    return 0 if not summary["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
