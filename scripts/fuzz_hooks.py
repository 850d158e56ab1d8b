"""Schemathesis hooks for scripts/fuzz-api.sh (loaded as SCHEMATHESIS_HOOKS=fuzz_hooks): the rules across fields that JSON Schema cannot state.

The OpenAPI document declares every rule on one value (ranges, lengths, patterns, enums, formats) and
the generator follows them. A few rules relate values to each other, or to the bytes of a file; each
is written in the operation's description, and here each one turns a generated *positive* case (one
the fuzzer sends expecting it to be accepted) into one that keeps the rule, changing as little as
possible. Negative cases are left alone: the server must still refuse them.

- POST /api/orders: a product appears at most once in an order (SPEC "a product at most once").
- GET /api/analytics/*: `from` is before `to`, and the range is at most 366 days (31 hourly).
- POST /api/webhooks, PATCH /api/webhooks/{id}: the `url` resolves, to an address webhooks may reach.
  This machine resolves no public names, so the fuzzed deployment allows private addresses
  (OMS_WEBHOOKS_ALLOW_PRIVATE=true) and a positive case's URL is one on loopback.
- GET /api/orders?customer= is an e-mail address: its pattern has a lookahead (the local part is at
  most 64 characters) that the generator does not always honour in query parameters.
- GET /api/products/{id} reads a product that exists (OMS_FUZZ_PRODUCT): a shopper cannot create one
  to follow a link from.
- POST /api/orders/{id}/status and /cancel act on an order that exists and is PLACED: the script
  places a few before the run (OMS_FUZZ_ORDERS); fuzzed ids find nothing (a 404 each time).
- POST /api/webhooks/{id}/deliveries/{delivery_id}/retry retries a delivery that exists (the
  script subscribes an endpoint to the orders it places: OMS_FUZZ_DELIVERY is `webhook/delivery`).
- POST /api/ops/dead-letters/replay names a queue this deployment declares (OMS_FUZZ_QUEUE): the
  document gives the form of a queue's name, the partition count decides which exist.
- POST /api/products, POST /api/products/{id}/image: the `image` part is an image (the server reads its
  bytes, not its name or content type); a PNG is sent.
"""

import datetime as dt
import os
import re
import struct
import zlib

import schemathesis



def _png() -> bytes:
    """A 1x1 opaque PNG, built here so that it is certainly well formed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x20\x60\xa0")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = _png()
ORDERS = [o for o in os.environ.get("OMS_FUZZ_ORDERS", "").split(",") if o]
QUEUE = os.environ.get("OMS_FUZZ_QUEUE")
PRODUCT = os.environ.get("OMS_FUZZ_PRODUCT")

# The server's rule for an e-mail address (`Email::PATTERN`), in Python's dialect.
EMAIL = re.compile(
    r"^\s*(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\s*$"
)
DELIVERY = os.environ.get("OMS_FUZZ_DELIVERY", "").partition("/")

MAX_RANGE = dt.timedelta(days=366)
MAX_HOURLY = dt.timedelta(days=31)
DEFAULT_SPAN = dt.timedelta(days=7)


def _positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _parse_time(value):
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@schemathesis.hook
def map_case(context, case):
    if not _positive(case):
        return case
    path, method = case.path, case.method.upper()
    if path == "/api/orders" and method == "POST":
        _one_line_per_product(case)
    elif path.startswith("/api/analytics/") and method == "GET":
        _range_in_order(case)
    elif (path, method) == ("/api/orders", "GET"):
        query = case.query
        if isinstance(query, dict) and isinstance(query.get("customer"), str) and not EMAIL.match(query["customer"]):
            query["customer"] = "ada@example.com"
    elif (path, method) == ("/api/products/{id}", "GET"):
        if PRODUCT and isinstance(case.path_parameters, dict):
            case.path_parameters["id"] = PRODUCT
    elif method == "POST" and path in ("/api/orders/{id}/status", "/api/orders/{id}/cancel"):
        if ORDERS and isinstance(case.path_parameters, dict):
            case.path_parameters["id"] = ORDERS[len(repr(case.body)) % len(ORDERS)]
    elif (path, method) == ("/api/webhooks/{id}/deliveries/{delivery_id}/retry", "POST"):
        if DELIVERY[2] and isinstance(case.path_parameters, dict):
            case.path_parameters.update(id=DELIVERY[0], delivery_id=DELIVERY[2])
    elif (path, method) == ("/api/ops/dead-letters/replay", "POST"):
        if QUEUE and isinstance(case.body, dict):
            case.body["queue"] = QUEUE
    elif (path, method) in (("/api/webhooks", "POST"), ("/api/webhooks/{id}", "PATCH")):
        _reachable_url(case)
    elif method == "POST" and path in ("/api/products", "/api/products/{id}/image"):
        _real_image(case)
    return case


def _one_line_per_product(case):
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return
    seen, items = set(), []
    for line in body["items"]:
        key = line.get("product_id") if isinstance(line, dict) else None
        if key is None or key not in seen:
            seen.add(key)
            items.append(line)
    body["items"] = items


def _range_in_order(case):
    """`from` before `to`, at most 366 days apart (31 with hourly buckets), with the server's
    defaults (`to`: now, `from`: 7 days before `to`) written out."""
    query = case.query
    if not isinstance(query, dict):
        return
    given_from, given_to = query.get("from"), query.get("to")
    start, end = _parse_time(given_from), _parse_time(given_to)
    if (given_from is not None and start is None) or (given_to is not None and end is None):
        return
    try:
        end = end or dt.datetime.now(dt.timezone.utc)
        start = start or end - DEFAULT_SPAN
        if start > end:
            start, end = end, start
        if end - start < dt.timedelta(hours=1):
            end = start + dt.timedelta(hours=1)
        longest = MAX_HOURLY if query.get("bucket") == "hour" else MAX_RANGE
        if end - start > longest:
            start = end - longest
    except OverflowError:
        start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        end = start + DEFAULT_SPAN
    query["from"], query["to"] = _rfc3339(start), _rfc3339(end)


def _rfc3339(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.isoformat()


def _reachable_url(case):
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("url"), str):
        # Nothing listens on the discard port: deliveries fail, which the fuzzer does not wait for.
        body["url"] = f"http://127.0.0.1:9/hooks/{len(body['url'])}"


def _real_image(case):
    body = case.body
    if not isinstance(body, dict) or "image" not in body:
        return
    # Whatever format the part's content type named, a PNG said to be a PNG is valid too.
    case.multipart_content_types = {**(case.multipart_content_types or {}), "image": "image/png"}
    body["image"] = PNG
