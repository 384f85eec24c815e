"""Schemathesis hooks for .ci/contract-test: GTFS-Realtime pushes are protobuf bytes, sent as
generated (random bytes: the server must refuse them with a 4xx, never a 5xx)."""

import schemathesis

schemathesis.serializer.alias("application/x-protobuf", "application/octet-stream")
