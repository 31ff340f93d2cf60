"""The DynamoDB table definition, in one place: `slo bootstrap`, the adapter and the SAM template test read it.

Single-table design (docs/store.md has attributes, measured item sizes and the write conditions):

| item            | PK                    | SK                     | attributes                                      |
|-----------------|-----------------------|------------------------|-------------------------------------------------|
| counter bucket  | CNT#{sli}#{m or h}    | 2026-10-01T06:00Z      | good, total, (h, time-slice) g{i}/t{i}, (m) x   |
| latency digest  | DIG#{sketch}#{m or h} | 2026-10-01T06:00Z      | d (binary t-digest), v (version)                |
| checkpoint      | CKPT                  | {stream}#{shard}       | pos (sequence:sub-sequence:event-index), newest |
| trace head      | TRACE#{correlationId} | HEAD                   | v, doc (JSON, zlib'd from 512 B: events, ...)   |
| gauge           | GAUGE                 | {name}                 | value (e.g. open-units)                     |
| alert state     | ALERTSTATE            | {slo}                  | doc (JSON), at                                  |
| alert log       | ALERTLOG              | {at:012d}#{id}         | doc (JSON transition)                           |

Spans are not items: the trace head holds the event list (up to MAX_SPANS_PER_TRACE) and spans are derived
at read time. Counter and digest items carry `expiresAt` (minute buckets 40 days, hour buckets 400 days),
trace heads trace_ttl_days after first seen.

All three GSIs project KEYS_ONLY. GSI1 finds traces by workflow (GSI1PK = WF#{workflowId}), GSI2 by
repository (GSI2PK = REPO#{org/repo}); both sort by GSI?SK = the trace's first-seen ISO time. GSI3 is a
sparse open-unit index: only trace heads of units of work that opened and have not resolved carry
GSI3PK = OPEN#{hour the unit opened} and GSI3SK = {startedMs:015d}#{correlationId}, so the orphan sweeper
queries just those hours.
"""

from __future__ import annotations

from typing import Any, Final

PARTITION_KEY: Final = "PK"
SORT_KEY: Final = "SK"
GSI_BY_WORKFLOW: Final = "GSI1"
GSI_BY_REPOSITORY: Final = "GSI2"
GSI_OPEN_UNITS: Final = "GSI3"
GSI_PENDING: Final = "GSI4"
INDEXES: Final = (GSI_BY_WORKFLOW, GSI_BY_REPOSITORY, GSI_OPEN_UNITS, GSI_PENDING)
PENDING_PAYLOAD: Final = "p"  # projected into GSI4, so one Query returns the pending partials' contents
TTL_ATTRIBUTE: Final = "expiresAt"


def table_definition(table_name: str) -> dict[str, Any]:
    """Keyword arguments for `dynamodb.create_table`; the SAM template must declare the same keys."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": f"{GSI_BY_WORKFLOW}PK", "AttributeType": "S"},
            {"AttributeName": f"{GSI_BY_WORKFLOW}SK", "AttributeType": "S"},
            {"AttributeName": f"{GSI_BY_REPOSITORY}PK", "AttributeType": "S"},
            {"AttributeName": f"{GSI_BY_REPOSITORY}SK", "AttributeType": "S"},
            {"AttributeName": f"{GSI_OPEN_UNITS}PK", "AttributeType": "S"},
            {"AttributeName": f"{GSI_OPEN_UNITS}SK", "AttributeType": "S"},
            {"AttributeName": f"{GSI_PENDING}PK", "AttributeType": "S"},
            {"AttributeName": f"{GSI_PENDING}SK", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{index}PK", "KeyType": "HASH"},
                    {"AttributeName": f"{index}SK", "KeyType": "RANGE"},
                ],
                "Projection": (
                    {"ProjectionType": "INCLUDE", "NonKeyAttributes": [PENDING_PAYLOAD]}
                    if index == GSI_PENDING
                    else {"ProjectionType": "KEYS_ONLY"}
                ),
            }
            for index in INDEXES
        ],
        "SSESpecification": {"Enabled": True},
    }
