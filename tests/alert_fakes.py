"""The in-memory alert store, notifier and generated streams the alerting scenarios run on (one import place)."""

from __future__ import annotations

from tests.fakes.alerting import MemoryAlertStore, MemoryNotifier
from tests.fakes.evaluating import Phase, SeriesView, minute_counts

__all__ = ["MemoryAlertStore", "MemoryNotifier", "Phase", "SeriesView", "minute_counts"]
