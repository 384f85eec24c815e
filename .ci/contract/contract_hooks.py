"""Schemathesis hooks for .ci/contract-test.

GTFS-Realtime pushes are protobuf bytes, sent as generated (random bytes: the server must
refuse them with a 4xx, never a 5xx).

JSON Schema counts `2.0` an integer; the server (serde) reads an integer field only from an
integer literal, which is what every JSON encoder writes for an integer. Bodies are sent with
integral floats written as integers, so a case tests the contract, not that spelling.
"""

import schemathesis

schemathesis.serializer.alias("application/x-protobuf", "application/octet-stream")


def _integers_as_integers(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_integers_as_integers(item) for item in value]
    if isinstance(value, dict):
        return {key: _integers_as_integers(item) for key, item in value.items()}
    return value


@schemathesis.hook
def map_body(context, body):
    return _integers_as_integers(body)
