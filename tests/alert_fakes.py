"""The in-memory alert store, notifier and generated streams the alerting scenarios run on (one import place)."""

from __future__ import annotations

from processors.alerting.fakes import MemoryAlertStore, MemoryNotifier
from processors.evaluating.fakes import Phase, SeriesView, minute_counts

__all__ = ["MemoryAlertStore", "MemoryNotifier", "Phase", "SeriesView", "minute_counts"]
