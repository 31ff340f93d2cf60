"""`slo local-dynamodb --port N`: moto's DynamoDB (and Kinesis) server, serialized, with per-item rollback.

Stock moto deep-copies every table a TransactWriteItems touches and restores that copy when it fails. On a
large table that is slow (the 8-hour sample replayed at ~1 event/s), and under concurrent requests a restore
can discard writes other threads made meanwhile. This server runs one request at a time and, when a
transaction fails, restores only the items it touched, as they were before it. It needs `moto[server]`.
"""

from __future__ import annotations

import argparse
import copy
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from processors.cli.common import UsageError

LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": LOCAL_REGION}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local-dynamodb",
        help="run a local DynamoDB/Kinesis (moto, serialized, per-item rollback) for bootstrap and replay",
        description=__doc__,
    )
    parser.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise UsageError(f"--port: not a port number: {args.port}")
    server = LocalDynamoDB(args.host, args.port)
    try:
        server.start()
    except ImportError as exc:
        raise UsageError(f"local-dynamodb needs moto's server: pip install 'moto[server]>=5,<6' ({exc})") from None
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    endpoint = server.endpoint
    env = " ".join(f"{name}={value}" for name, value in LOCAL_CREDENTIALS.items())
    print(f"local DynamoDB and Kinesis on {endpoint} (any credentials; region {LOCAL_REGION}). Try:")
    print(f"  export {env}")
    print(f"  slo bootstrap --endpoint-url {endpoint}")
    print(f"  slo replay events/ --store dynamodb --table slo-pipeline --endpoint-url {endpoint}")
    print("Ctrl-C stops it (the data lives in memory only).", flush=True)
    try:
        server.wait()
    finally:
        server.stop()
    return 0


class LocalDynamoDB:
    """moto's WSGI app behind one lock, with TransactWriteItems rolled back per item. start() / stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        install_per_item_rollback()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        app = serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-dynamodb", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        try:
            while not self._stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)


def serialized(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    """One request at a time: moto's backends are not thread-safe. The body is read inside the lock."""
    lock = threading.Lock()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            return list(app(environ, start_response))

    return application


_installed = False


def install_per_item_rollback() -> None:
    """Replace moto's whole-table backup in transact_write_items by a snapshot of the touched items only."""
    global _installed
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    in_transaction = threading.local()

    class _NoTableCopy:
        """Inside transact_write_items, moto's whole-table backup becomes a pass-through; elsewhere a real copy."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if isinstance(value, Table) and getattr(in_transaction, "on", False):
                return value
            return copy.deepcopy(value, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

    models.copy = _NoTableCopy()  # type: ignore[assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.tables[name]
            key = op.get("Key")
            if key is None and "Item" in op:
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None and table.range_key_attr in op["Item"]:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            if key is None:
                continue
            try:
                current = self.get_item(name, key)
            except Exception:  # a malformed key: moto's own validation reports it below
                continue
            snapshots.append((name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        in_transaction.on = True
        try:
            original(self, transact_items)
        except Exception:
            in_transaction.on = False
            for name, key, before in reversed(snapshots):
                if before is None:
                    if self.get_item(name, key) is not None:
                        self.delete_item(name, key)
                else:
                    self.put_item(name, before)
            raise
        finally:
            in_transaction.on = False

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True
