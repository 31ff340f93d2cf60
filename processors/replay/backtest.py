"""The replay's backtest: at each minute boundary of event time, evaluate and record alerts as the
scheduled evaluator would have, with notifications going to the alert log only."""

from __future__ import annotations

from collections.abc import Callable

from processors.alerting import LocalNotifier, evaluate_and_record
from processors.spec.model import Spec
from processors.store.base import Store
from processors.store.view import StoreView


def backtest_hook(store: Store, spec: Spec) -> Callable[[int], None]:
    """A replay minute hook: a fresh view per minute (its memoised reads must not outlive the minute)."""
    notifier = LocalNotifier()

    def hook(minute: int) -> None:
        evaluate_and_record(store, StoreView(store), spec, minute, notifier)

    return hook
