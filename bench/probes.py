#!/usr/bin/env python3
"""One measurement of one code tree, printed as JSON: the harness (bench/harness.py) runs these as child
processes so a tree's own `processors` package is imported and the child's peak RSS is its own.

    python bench/probes.py ingest   --tree DIR --input RECORDS.jsonl
    python bench/probes.py replay   --tree DIR --input FOLDER [--no-backtest]
    python bench/probes.py evaluate --tree DIR --db FILE [--rounds N]
    python bench/probes.py dynamodb --tree DIR --input RECORDS.jsonl
    python bench/probes.py sketch   --tree DIR

Only APIs present in every compared tree are used; where a tree has a newer seam, it is tried first.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _tree(path: str) -> None:
    root = str(Path(path).resolve())
    sys.path.insert(0, root)
    os.chdir(root)  # the tree's slos.yaml and relative defaults


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _records(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


# --- ingest stages ---------------------------------------------------------------------------------------


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    import orjson

    from processors.decoding import decode_record
    from processors.ingest import Ingestor
    from processors.spec import load_spec

    records = _records(args.input)
    spec = load_spec()

    def floor() -> int:
        """The full orjson floor: base64 + gzip + orjson of the payload AND of every structured message."""
        events = 0
        for record in records:
            payload = orjson.loads(zlib.decompress(base64.b64decode(record["kinesis"]["data"]), zlib.MAX_WBITS | 32))
            for log_event in payload["logEvents"]:
                message = log_event["message"]
                if message[:1] == "{":
                    orjson.loads(message)
                events += 1
        return events

    def decode() -> int:
        return sum(len(decode_record(record).events) for record in records)

    def sli_path() -> int:
        """decode + classify + aggregate into (SLI, minute, good) counters: events applied = classified."""
        from processors.classifying import Classifier

        classifier = Classifier(spec)
        counters: dict[tuple[str, int, bool], int] = {}
        events = 0
        for record in records:
            for event in decode_record(record).events:
                events += 1
                for sli_event in classifier.classify(event):
                    key = (sli_event.sli, int(sli_event.time // 60), sli_event.good)
                    counters[key] = counters.get(key, 0) + 1
        return events

    def full(store: Any) -> int:
        decoded = [decode_record(record) for record in records]
        report = Ingestor(store, spec).apply_batch("bench", "shardId-0", decoded)
        if report.failed_from_sequence is not None:
            raise SystemExit(f"ingest failed: {report.error}")
        return report.events

    def bound(folder: str) -> int:
        """A lower bound for any design that keeps a trace per correlation ID: the sli stage, plus each event's
        metadata redacted and written as one JSON document per correlation ID, one SQLite row each, in one
        statement. No stitching rules, sketches, exemplars, hour buckets, checkpoint or compression."""
        import sqlite3

        from processors.classifying import Classifier
        from processors.stitching.redaction import storable_metadata

        classifier = Classifier(spec)
        counters: dict[tuple[str, int, bool], int] = {}
        rows: dict[str, tuple[Any, ...]] = {}
        events = 0
        for record in records:
            for event in decode_record(record).events:
                events += 1
                for sli_event in classifier.classify(event):
                    key = (sli_event.sli, int(sli_event.time // 60), sli_event.good)
                    counters[key] = counters.get(key, 0) + 1
                cid = event.correlation_id
                if cid:
                    time_ms = round(event.time * 1000)
                    document = {"t": time_ms, "s": event.service, "a": event.action,
                                "m": storable_metadata(event.metadata)}
                    rows[cid] = (cid, 1, None, None, time_ms, None, 0, orjson.dumps(document, default=str))
        db = sqlite3.connect(str(Path(folder) / "bound.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE traces (correlation_id TEXT PRIMARY KEY, version INTEGER, workflow_id TEXT, "
                   "repository TEXT, first_seen_ms INTEGER, open_since_ms INTEGER, expires_at INTEGER, doc BLOB)")
        db.execute("BEGIN")
        db.executemany("INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows.values())
        db.execute("COMMIT")
        db.close()
        return events

    messages = [
        log_event["message"]
        for record in records
        for log_event in orjson.loads(zlib.decompress(base64.b64decode(record["kinesis"]["data"]),
                                                      zlib.MAX_WBITS | 32))["logEvents"]
        if log_event["message"][:1] == "{"
    ]
    try:  # the tree's own message parser; a tree without one parsed messages with the stdlib
        from processors.decoding.formats import loads as tree_loads
    except ImportError:
        tree_loads = json.loads

    def parse(loads: Callable[[str], Any]) -> int:
        for message in messages:
            loads(message)
        return len(messages)

    with contextlib.suppress(ImportError):  # before any stage: a Lambda pays it once, at its first batch
        import processors.sketch  # noqa: F401  (numpy)
    with tempfile.TemporaryDirectory() as folder:
        from processors.store import SqliteStore

        stages: dict[str, Callable[[], int]] = {
            "floor": floor,
            "decode": decode,
            "sli": sli_path,
            "full": lambda: full(_discarding_store()),
            "sqlite": lambda: full(SqliteStore(str(Path(folder) / "bench.db"))),
            "bound": lambda: bound(folder),
            "parse_orjson": lambda: parse(orjson.loads),
            "parse_tree": lambda: parse(tree_loads),
        }
        result: dict[str, Any] = {"records": len(records)}
        for name, fn in stages.items():
            _clear_caches()
            wall, cpu, events = _timed(fn)
            result[name] = {"wall": wall, "cpu": cpu, "events": events}
    return result


def _clear_caches() -> None:
    """Empty every functools cache of the tree's modules, so no stage runs on what an earlier one cached."""
    for name, module in list(sys.modules.items()):
        if name == "processors" or name.startswith("processors."):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def _discarding_store() -> Any:
    """A store whose reads find nothing and whose commits are dropped: isolates the domain's cost."""
    from processors.store.base import Store

    def nothing(self: Any, *args: Any, **kwargs: Any) -> Any:
        return {}

    hooks: dict[str, Any] = {name: nothing for name in getattr(Store, "__abstractmethods__", ())}
    hooks |= {
        "max_items_per_commit": 100,
        "_get_checkpoint": lambda self, *a: None,
        "_list_checkpoints": lambda self: [],
        "_open_runners": lambda self, *a: [],
        "_find_traces": lambda self, *a: [],
        "_alert_log": lambda self, *a: [],
        "_get_gauge": lambda self, *a: 0,
        "commit": lambda self, commit: None,  # dropped: no digest merge read, no write
    }
    return type("DiscardingStore", (Store,), hooks)()


# --- replay end to end -----------------------------------------------------------------------------------


def replay(args: argparse.Namespace) -> dict[str, Any]:
    """`slo replay` in-process, with every minute hook timed (wall and CPU) by minute of event time."""
    import contextlib
    import io

    from processors.cli import main as cli_main
    from processors.cli import replay as replay_cli

    hook_times: list[tuple[int, float, float]] = []
    original = replay_cli.minute_hooks

    def timed_hooks(*a: Any, **k: Any) -> Any:
        hooks = original(*a, **k)
        def wrap(hook: Any) -> Any:
            def timed(minute: int) -> None:
                wall, cpu = time.perf_counter(), time.process_time()
                hook(minute)
                hook_times.append((minute, time.perf_counter() - wall, time.process_time() - cpu))

            return timed

        if isinstance(hooks, tuple):  # (hooks, commit listener): the hooks of one minute timed together
            return [_together(hooks[0], wrap)], hooks[1]
        return [wrap(hook) for hook in hooks]

    def _together(hooks: list[Any], wrapper: Any) -> Any:
        def all_of(minute: int) -> None:
            for hook in hooks:
                hook(minute)

        return wrapper(all_of)

    replay_cli.minute_hooks = timed_hooks  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or str(Path(folder) / "replay.db")
        argv = ["replay", args.input, "--db", db, "--json"] + (["--no-backtest"] if args.no_backtest else [])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli_main(argv)
    summary = json.loads(out.getvalue()) if out.getvalue().strip() else {}
    first = min((m for m, _, _ in hook_times), default=0)
    by_hour: dict[int, list[tuple[float, float]]] = {}
    for minute, wall, cpu in hook_times:
        by_hour.setdefault((minute - first) // 3600 + 1, []).append((wall, cpu))
    hours = {
        str(hour): {"wall_ms": 1000 * _median([w for w, _ in times]), "cpu_ms": 1000 * _median([c for _, c in times])}
        for hour, times in by_hour.items()
        if hour in (1, 48) or hour == max(by_hour)
    }
    return {"exit": code, "events": summary.get("events"), "minutes": len(hook_times), "backtest_by_hour": hours}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


# --- the evaluator on a real store -----------------------------------------------------------------------


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """One evaluation of every SLO at the store's newest minute, alerts recorded to an in-memory log."""
    from processors.alerting import LocalNotifier, record_evaluation
    from processors.spec import load_spec
    from processors.store import SqliteStore

    try:
        from processors.alerting.fakes import MemoryAlertStore  # the baseline tree
    except ImportError:
        from tests.fakes.alerting import MemoryAlertStore  # type: ignore[no-redef]  # where the fakes moved
    spec = load_spec()
    store = SqliteStore(args.db)
    alerts = MemoryAlertStore()
    now = store.default_at()

    def once() -> Any:
        try:
            from processors.evaluating.service import evaluate_at
            from processors.store.view import StoreView

            view: Any = StoreView(store)
            evaluation = evaluate_at(view, spec, now).evaluation
        except ImportError:  # the baseline tree
            from processors.alerting import open_view
            from processors.evaluating import evaluate as run_evaluation

            view = open_view(store)
            evaluation = run_evaluation(view, spec, now, [])
        return record_evaluation(alerts, view, evaluation, LocalNotifier())

    walls, cpus, reads = [], [], []
    for _ in range(args.rounds):
        before = store.stats.read_requests
        wall, cpu, _ = _timed(once)
        walls.append(wall)
        cpus.append(cpu)
        reads.append(store.stats.read_requests - before)
    newest = store.newest_event_time() or 0
    oldest = min((row for row in store.buckets(spec.slos[0].series(), "h", 0, now)), default=newest)
    return {"walls": walls, "cpus": cpus, "reads": _median(reads), "days": (newest - oldest) / 86400}


# --- DynamoDB requests and write units -------------------------------------------------------------------


def dynamodb(args: argparse.Namespace) -> dict[str, Any]:
    """Every request the ingest makes to DynamoDB (moto's server, real HTTP), and the write units of every
    item it writes: ceil(size / 1 KB), doubled inside a transaction. Sizes follow DynamoDB's item-size rules."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from processors.decoding import decode_record
    from processors.ingest import Ingestor
    from processors.spec import load_spec
    from processors.store import DynamoDBStore, dynamodb_client
    from processors.store.tables import table_definition

    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    records = _records(args.input)
    spec = load_spec()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        admin = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        table = f"bench-{time.time_ns()}"
        admin.create_table(**table_definition(table))
        client = dynamodb_client(endpoint, read_timeout=300)
        counts: dict[str, float] = {"requests": 0, "write_requests": 0, "write_units": 0, "items": 0}
        by_operation: dict[str, int] = {}

        def count(params: dict[str, Any], model: Any, **_: Any) -> None:
            operation = model.name
            counts["requests"] += 1
            by_operation[operation] = by_operation.get(operation, 0) + 1
            items: list[dict[str, Any]] = []
            transactional = operation == "TransactWriteItems"
            if transactional:
                for entry in params.get("TransactItems", []):
                    for kind in ("Put", "Update", "Delete", "ConditionCheck"):
                        if kind in entry:
                            items.append(entry[kind].get("Item") or entry[kind].get("Key") or {})
            elif operation == "BatchWriteItem":
                for writes in params.get("RequestItems", {}).values():
                    items += [(w.get("PutRequest") or w.get("DeleteRequest") or {}).get("Item", {}) for w in writes]
            elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
                items.append(params.get("Item") or params.get("Key") or {})
            if items:
                counts["write_requests"] += 1
                counts["items"] += len(items)
                for item in items:
                    counts["write_units"] += (2 if transactional else 1) * max(1, -(-_item_size(item) // 1024))

        client.meta.events.register("provide-client-params.dynamodb.*", count)
        store = DynamoDBStore(client, table)
        decoded = [decode_record(record) for record in records]
        report = Ingestor(store, spec).apply_batch("bench", "shardId-0", decoded)
        if report.failed_from_sequence is not None:
            raise SystemExit(f"the DynamoDB commit failed: {report.error}")
        events = report.events
        return {"events": events, "by_operation": by_operation,
                **{f"{name}_per_1000": 1000 * value / events for name, value in counts.items()}}
    finally:
        server.stop()


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (UTF-8 strings, binary, ~number digits/2 + 1)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Any) -> int:
    if not isinstance(value, dict) or len(value) != 1:
        return 1
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return (len(str(inner).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    return 1


# --- t-digest against the reference packages --------------------------------------------------------------


def sketch(args: argparse.Namespace) -> dict[str, Any]:
    """Build n values and merge a day of minute digests from bytes, ours vs fastdigest vs pytdigest, like for
    like: each library's setting (fastdigest's max_centroids, pytdigest's compression) is the one whose digests
    hold as many centroids as ours, for the n = 1M build, for the minute digests merged, and for the merged
    result. Each figure is one timing; the harness takes rounds."""
    import numpy as np

    from processors.sketch import TDigest

    rng = np.random.default_rng(7)
    values = rng.lognormal(3.0, 1.5, args.n)
    minutes = np.array_split(values, 1440)
    few = minutes[:: len(minutes) // 24]  # the centroid count of a minute's digest: the median of 24 minutes
    result: dict[str, Any] = {}
    result["sort"] = _timed(lambda: np.sort(values))[:2]
    result["ours_build"] = _timed(lambda: TDigest.from_values(values))[:2]
    ours_blobs = [TDigest.from_values(m).to_bytes() for m in minutes]
    if hasattr(TDigest, "merge_bytes"):  # the store's read path since it exists: one decode for all blobs
        result["ours_merge"] = _timed(lambda: TDigest.merge_bytes(ours_blobs).quantile(0.99))[:2]
        merged = TDigest.merge_bytes(ours_blobs)
    else:
        result["ours_merge"] = _timed(
            lambda: TDigest.merge([TDigest.from_bytes(b) for b in ours_blobs]).quantile(0.99)
        )[:2]
        merged = TDigest.merge([TDigest.from_bytes(b) for b in ours_blobs])
    big = len(TDigest.from_values(values))
    minute = _median([len(TDigest.from_values(m)) for m in few])
    result["ours_centroids"] = [big, minute, len(merged)]
    try:
        import fastdigest

        def fast_count(setting: int, parts: list[Any]) -> float:
            return _median([fastdigest.TDigest.from_values(m, max_centroids=setting).n_centroids for m in parts])

        fast_big = _matching(lambda c: fast_count(c, [values]), big)
        fast_minute = _matching(lambda c: fast_count(c, few), minute)
        result["fastdigest_build"] = _timed(lambda: fastdigest.TDigest.from_values(values, max_centroids=fast_big))[:2]
        fast_blobs = [fastdigest.TDigest.from_values(m, max_centroids=fast_minute).to_bytes() for m in minutes]

        def fast_merge() -> Any:
            return fastdigest.merge_all([fastdigest.TDigest.from_bytes(b) for b in fast_blobs], max_centroids=fast_big)

        result["fastdigest_merge"] = _timed(lambda: fast_merge().quantile(0.99))[:2]
        result["fastdigest_centroids"] = [fast_count(fast_big, [values]), fast_count(fast_minute, few),
                                          fast_merge().n_centroids]
        result["fastdigest_settings"] = [fast_big, fast_minute]
    except ImportError:
        pass
    try:
        import pytdigest

        def pyt_count(setting: int, parts: list[Any]) -> float:
            return _median([len(pytdigest.TDigest.compute(m, compression=setting).get_centroids()) for m in parts])

        pyt_big = _matching(lambda c: pyt_count(c, [values]), big)
        pyt_minute = _matching(lambda c: pyt_count(c, few), minute)
        result["pytdigest_build"] = _timed(lambda: pytdigest.TDigest.compute(values, compression=pyt_big))[:2]
        pyt_blobs = [pytdigest.TDigest.compute(m, compression=pyt_minute).get_centroids().tobytes() for m in minutes]

        def pyt_merge() -> Any:
            total = pytdigest.TDigest(compression=pyt_big)  # the result at the build's centroid budget
            for blob in pyt_blobs:
                total += pytdigest.TDigest.of_centroids(np.frombuffer(blob).reshape(-1, 2), compression=pyt_minute)
            total.force_merge()
            return total

        result["pytdigest_merge"] = _timed(lambda: float(pyt_merge().inverse_cdf(0.99)))[:2]
        result["pytdigest_centroids"] = [pyt_count(pyt_big, [values]), pyt_count(pyt_minute, few),
                                         len(pyt_merge().get_centroids())]
        result["pytdigest_settings"] = [pyt_big, pyt_minute]
    except ImportError:
        pass
    return result


def _matching(count_of: Callable[[int], float], target: float, low: int = 2, high: int = 20_000) -> int:
    """The integer setting in [low, high] whose digests hold nearest `target` centroids (counts grow with it)."""
    while high - low > 1:
        middle = (low + high) // 2
        if count_of(middle) < target:
            low = middle
        else:
            high = middle
    return min((low, high), key=lambda setting: abs(count_of(setting) - target))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("probe", choices=("ingest", "replay", "evaluate", "dynamodb", "sketch"))
    parser.add_argument("--tree", required=True)
    parser.add_argument("--input")
    parser.add_argument("--db")
    parser.add_argument("--no-backtest", action="store_true")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    _tree(args.tree)
    result = globals()[args.probe](args)
    result["_own_peak_rss_mb"] = _own_peak_rss_mb()
    print("PROBE " + json.dumps(result))


def _own_peak_rss_mb() -> float | None:
    """This process's own peak RSS (VmHWM, of the memory map exec gave it). Not ru_maxrss: Linux carries the
    forking parent's high-water mark across exec into it, so a child of a large parent reports the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


if __name__ == "__main__":
    main()
