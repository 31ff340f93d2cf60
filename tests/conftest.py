"""Shared fixtures: the spec, a SQLite store in a temp file, and DynamoDB on moto's server over real HTTP."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import boto3
import pytest
from hypothesis import settings

from processors.spec import Spec, load_spec
from processors.store import DynamoDBStore, SqliteStore, dynamodb_client
from processors.store.tables import table_definition

# Fixed seeds in CI: hypothesis draws the same examples every run (locally it keeps exploring).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SloPipelineTest")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "slo-pipeline-test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server as `slo local-dynamodb` runs it (serialized, per-item transaction rollback): real HTTP,
    real botocore serialization; no in-process patching of our store."""
    from processors.cli.local_dynamodb import LocalDynamoDB

    server = LocalDynamoDB("127.0.0.1", 0)
    server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[SqliteStore]:  # type: ignore[no-untyped-def]
    store = SqliteStore(tmp_path / "slo.db")
    yield store
    store.close()


def create_table(endpoint: str) -> str:
    name = f"slo-{uuid.uuid4().hex[:12]}"
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    client.create_table(**table_definition(name))
    return name


@pytest.fixture
def dynamodb_store(moto_endpoint: str) -> DynamoDBStore:
    return DynamoDBStore(dynamodb_client(moto_endpoint), create_table(moto_endpoint))


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Both adapters: the contract suite runs once against each."""
    return request.getfixturevalue(f"{request.param}_store")


class FakeLambdaContext:
    function_name = "slo-pipeline-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:slo-pipeline-test"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/slo-pipeline-test"
    log_stream_name = "2026/10/01/[$LATEST]test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
