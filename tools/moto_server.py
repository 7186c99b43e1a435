"""moto_server as the local deployment runs it: moto's own server with one gap closed.

moto keeps a table's stream records until an event source mapping on the table delivers them,
and tries to deliver after every write by running the function in Docker. Without Docker the
attempt fails, yet moto takes the error text it gets back for a delivered batch and empties the
stream (tools/emulator_gaps.py, EMULATOR_BEHAVIOUR_GAPS). AWS keeps every record for 24 hours,
whoever reads it. Here moto delivers nothing, so the streams keep their records and the demo and
tests/e2e read them as the mappings would (tools/local_streams.py) and run the relay in-process.

Run as `python -m tools.moto_server -H 127.0.0.1 -p PORT` (moto_server's own arguments).
"""

import sys
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.server import main


def _deliver_nothing(self: LambdaBackend, function_arn: str, items: list[Any], source: str) -> str:
    return ""  # moto empties the stream only when this answers something


if __name__ == "__main__":
    LambdaBackend.send_dynamodb_items = _deliver_nothing  # type: ignore[method-assign]
    main(sys.argv[1:])
