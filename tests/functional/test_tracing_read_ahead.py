"""With Powertools' tracing on (POWERTOOLS_TRACE_DISABLED=false), the evaluator's read-ahead threads keep their
DynamoDB calls in the invocation's trace: the X-Ray SDK, in Lambda mode, gives each worker thread the function's
facade segment from `_X_AMZN_TRACE_ID`, so no call is lost and the SDK logs no missing-context error.

The handler runs in a child process: Tracer patches botocore for the whole process, which the rest of the suite
must not inherit. A recording emitter stands in for the X-Ray daemon (UDP), which this machine does not run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from processors.timeutil import iso_seconds
from tests.functional.test_grouped_evaluation_cost import GROUPS, NOW, grouped_store
from tests.grouped import GROUPED_SPEC

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"

CHILD = """
import json, logging, sys, threading
from aws_xray_sdk.core import xray_recorder

sent = []

class Recording:
    def send_entity(self, entity):
        sent.append({"name": entity.name, "thread": threading.current_thread().name,
                     "trace_id": entity.trace_id, "parent_id": getattr(entity, "parent_id", None)})

    def set_daemon_address(self, address):
        pass

xray_recorder.configure(emitter=Recording(), streaming_threshold=0)
sdk_errors = []

class Capture(logging.Handler):
    def emit(self, record):
        sdk_errors.append(record.getMessage())

logging.getLogger("aws_xray_sdk").addHandler(Capture(level=logging.WARNING))

from processors.handlers import evaluator
from processors.spec import load_spec
from processors.store import open_dynamodb_store
from processors.store.view import StoreView
from tests.fakes.alerting import MemoryNotifier

store = open_dynamodb_store(sys.argv[1], endpoint_url=sys.argv[2])
assert store.read_concurrency > 1
spec = load_spec(sys.argv[3])
evaluator._dependencies = lambda: evaluator.Dependencies(store, spec, MemoryNotifier(), lambda: StoreView(store))

class Context:
    function_name = "evaluator"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:evaluator"
    aws_request_id = "request"

    def get_remaining_time_in_millis(self):
        return 60_000

result = evaluator.lambda_handler({"time": sys.argv[4]}, Context())
print(json.dumps({"result": result, "sent": sent, "sdk_errors": sdk_errors}))
"""


def test_the_evaluators_read_ahead_threads_keep_their_dynamodb_calls_in_the_invocations_trace(
    dynamodb_store, moto_endpoint, tmp_path
) -> None:
    store = grouped_store(dynamodb_store)
    spec_path = tmp_path / "grouped.yaml"
    spec_path.write_text(GROUPED_SPEC.format(limit=200))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_LAMBDA_FUNCTION_NAME": "evaluator",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, store.table, moto_endpoint, str(spec_path), iso_seconds(NOW)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])

    assert report["result"]["slos"] == 2 and "damaged" not in report["result"]
    assert report["sdk_errors"] == []
    calls = [entity for entity in report["sent"] if entity["name"] == "dynamodb"]
    in_workers = [call for call in calls if call["thread"] != "MainThread"]
    assert len(in_workers) >= len(GROUPS)  # every group but each chunk's first is read ahead, a Query or more each
    assert {call["trace_id"] for call in calls} == {TRACE_ID}
    assert {call["parent_id"] for call in in_workers} == {"53995c3f42cd8ad8"}  # the function's segment
    assert any(entity["name"] == "## lambda_handler" for entity in report["sent"])
