"""Errors of the alerting stage."""

from __future__ import annotations


class AlertingError(Exception):
    """Base class of the alerting stage's errors."""


class NotificationError(AlertingError):
    """A notification could not be published (SNS refused it, or no topic is configured for its route)."""


class NotificationsFailedError(AlertingError):
    """Some notifications failed after the evaluation was saved; their alerts will be re-sent next minute."""

    def __init__(self, failures: list[tuple[str, str, str]], recorded: list[dict[str, object]]) -> None:
        self.failures = failures  # (slo, kind, error)
        self.recorded = recorded
        detail = "; ".join(f"{slo} {kind}: {error}" for slo, kind, error in failures)
        super().__init__(f"{len(failures)} notification(s) failed: {detail}")
