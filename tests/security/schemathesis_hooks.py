"""Schemathesis hooks for the fuzzing run (loaded by its CLI through SCHEMATHESIS_HOOKS).

The bulk insert's body is JSON lines (`application/x-ndjson`), a media type
schemathesis has no serializer for; its generated values are strings, sent as
they are, like text/plain.
"""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
