"""The replay's backtest: at each minute boundary of event time, evaluate and record alerts as the
scheduled evaluator would have, with notifications going to the alert log only."""

from __future__ import annotations

from collections.abc import Callable

from processors.alerting import LocalNotifier, evaluate_and_record
from processors.evaluating import SliView
from processors.spec.model import Spec
from processors.store.base import Store
from processors.store.view import StoreView


def backtest_hook(store: Store, spec: Spec, view: SliView | None = None) -> Callable[[int], None]:
    """A replay minute hook. It reads `view` when given (the replay's in-memory WindowView, advanced to
    each minute by the replay), else a fresh StoreView per minute (its memoised reads must not outlive it)."""
    notifier = LocalNotifier()

    def hook(minute: int) -> None:
        evaluate_and_record(store, view if view is not None else StoreView(store), spec, minute, notifier)

    return hook
