"""`slo local-dynamodb --port N`: moto's DynamoDB (and Kinesis) server, serialized, with per-item rollback.

Stock moto deep-copies every table a TransactWriteItems touches and restores that copy when it fails. On a
large table that is slow (the 8-hour sample replayed at ~1 event/s), and under concurrent requests a restore
can discard writes other threads made meanwhile. This server runs one request at a time and, when a
transaction fails, restores only the items it touched, as they were before it. Stock moto also sorts the whole
table on every Query (quadratic as the table grows); here a Query reads only its partition, or for an index the
items with its partition key. It needs `moto[server]`.
"""

from __future__ import annotations

import argparse
import copy
import functools
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
    print("  .venv/bin/python events/generate.py --out /tmp/ev      # the docs' 8-hour sample")
    print(f"  slo replay /tmp/ev/stream/ --store dynamodb --table slo-pipeline --endpoint-url {endpoint}")
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
        dispatcher = DomainDispatcherApplication(create_backend_app)
        # moto lists its package folder on every request to tell a service by the request's host; the answer
        # for a host never changes
        dispatcher.get_backend_for_host = functools.lru_cache(maxsize=64)(dispatcher.get_backend_for_host)  # type: ignore[method-assign]
        app = serialized(dispatcher)
        check_can_listen(self.host, self.port)
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


def check_can_listen(host: str, port: int) -> None:
    """Bind host:port once and let go, raising OSError if that fails: werkzeug's make_server prints such a failure
    and calls sys.exit(1), so its caller could not turn it into one `slo: error:` line."""
    import socket

    from werkzeug.serving import get_sockaddr, select_address_family

    family = select_address_family(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server binds
        probe.bind(get_sockaddr(host, port, family))


def serialized(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    """One request at a time: moto's backends are not thread-safe. The body is read inside the lock. A request
    that may write ends the index cache's generation."""
    lock = threading.Lock()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", "")).rpartition(".")[2]
        with lock:
            _index_cache.local.serving = True
            try:
                return list(app(environ, start_response))
            finally:
                _index_cache.local.serving = False
                if target not in READ_TARGETS:
                    _index_cache.generation += 1

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
    install_query_without_table_sort()
    _installed = True


class _IndexCache:
    """Items by the value of an index's partition key attribute, valid until the next request that may write.

    Only the server's own requests use it (`serving` is set by `serialized` in the request's thread): every
    request that is not a read (READ_TARGETS) moves `generation` on when it ends, and the cache starts again."""

    def __init__(self) -> None:
        self.generation = 0
        self.local = threading.local()
        self._built_for = -1
        self._by_value: dict[tuple[int, str], dict[Any, list[Any]]] = {}

    @property
    def serving(self) -> bool:
        return getattr(self.local, "serving", False)

    def items_with(self, table: Any, attribute: str, value: Any) -> list[Any]:
        if self._built_for != self.generation:
            self._by_value, self._built_for = {}, self.generation
        key = (id(table), attribute)
        by_value = self._by_value.get(key)
        if by_value is None:
            by_value = self._by_value[key] = {}
            for partition in table.items.values():
                for item in partition.values():
                    found = item.attrs.get(attribute)
                    if found is None:
                        continue
                    try:
                        by_value.setdefault(found, []).append(item)
                    except TypeError:  # a list or map: never a key, but moto decides; a candidate for any value
                        by_value.setdefault(_ANY, []).append(item)
        return by_value.get(value, []) + by_value.get(_ANY, [])


_ANY = object()
_index_cache = _IndexCache()
READ_TARGETS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables",
                          "DescribeTimeToLive", "DescribeContinuousBackups"})


def install_query_without_table_sort() -> None:
    """Stock moto's Table.query starts from all_items(): every item of the table, sorted by (hash, range) key
    with DynamoType comparisons, on every Query; then it keeps the items that match and sorts those again. That
    made the server quadratic in the table's size (the 8-hour sample replayed in well over 9 minutes, nearly all
    of it in that sort). Here a Query of the table starts from its partition's items, and a Query of an index from
    the items whose index partition key has the queried value (looked up in `_index_cache`, built once between
    two writes: the sweep's hour-by-hour queries share one) or, outside the server, from every item, unsorted.
    moto still checks every condition and sorts the candidates on keys that end with the table's unique
    (hash, range) key, so the results and their pages are the same as stock moto's."""
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.range_key_attr:  # items are stored differently; never the case for our table
            return original(self, hash_key, *args, **kwargs)
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        conditions = kwargs.get("hash_key_conditions") or []
        if index_name and conditions and _index_cache.serving:
            attribute, value = conditions[0]
            candidates = list(_index_cache.items_with(self, attribute, value))
        elif index_name:
            candidates = [item for partition in self.items.values() for item in partition.values()]
        elif hash_key is not None:
            candidates = list(self.items.get(hash_key, {}).values())
        else:
            return original(self, hash_key, *args, **kwargs)
        self.all_items = lambda: candidates  # this call's query only: the instance attribute shadows the method
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]
