"""The DynamoDB table definition, in one place: `slo bootstrap`, the adapter and the SAM template test read it.

Single-table design (docs/store.md):

| item            | PK                         | SK                      | notes                                  |
|-----------------|----------------------------|-------------------------|----------------------------------------|
| counter bucket  | CNT#{sli}#{m or h}         | 2026-10-01T06:00Z       | good, total (+ per-slice g{i}, t{i})   |
| latency digest  | DIG#{sli}#{m or h}         | 2026-10-01T06:00Z       | d (binary t-digest), v (version)       |
| checkpoint      | CKPT                       | {stream}#{shard}        | position, newest                       |
| trace head      | TRACE#{correlationId}      | HEAD                    | milestones, claims, GSI1/GSI2 keys     |
| trace spans     | TRACE#{correlationId}      | SPAN#{start}#{action}   | one item per batch of spans            |
| alert state/log | ALERT#{slo}                | STATE / LOG#{at}#{kind} |                                        |

GSI1 finds traces by workflow (GSI1PK = WF#{workflowId}), GSI2 by repository (GSI2PK = REPO#{org/repo});
both sort by GSI?SK = the trace's first-seen ISO time. GSI3 is sparse: only trace heads of runners that
started and have not resolved carry GSI3PK = OPEN#{hour the runner started}, so the orphan sweeper queries
just the hours that are past their max runtime.
"""

from __future__ import annotations

from typing import Any, Final

PARTITION_KEY: Final = "PK"
SORT_KEY: Final = "SK"
GSI_BY_WORKFLOW: Final = "GSI1"
GSI_BY_REPOSITORY: Final = "GSI2"
GSI_OPEN_RUNNERS: Final = "GSI3"
INDEXES: Final = (GSI_BY_WORKFLOW, GSI_BY_REPOSITORY, GSI_OPEN_RUNNERS)
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
            {"AttributeName": f"{GSI_OPEN_RUNNERS}PK", "AttributeType": "S"},
            {"AttributeName": f"{GSI_OPEN_RUNNERS}SK", "AttributeType": "S"},
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
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
            for index in INDEXES
        ],
        "SSESpecification": {"Enabled": True},
    }
