"""The alerting stage: burn-rate, budget and no-data alerts from an evaluation; SNS notifications; the
alert log. `record_evaluation` decides, publishes and records one evaluation (processors.evaluating.service)
for the evaluator Lambda; `evaluate_and_record` is the replay backtest's minute."""

from processors.alerting.exceptions import AlertingError, NotificationError, NotificationsFailedError
from processors.alerting.notify import LocalNotifier, Notifier, SnsNotifier, message, subject
from processors.alerting.policy import Signals, TierReading, budget_level, most_severe, read_signals
from processors.alerting.service import evaluate_and_record, record_evaluation
from processors.alerting.state import advance, coerce_state, initial_state, transition_id
from processors.alerting.types import AlertState, Transition

__all__ = [
    "AlertState",
    "AlertingError",
    "LocalNotifier",
    "NotificationError",
    "NotificationsFailedError",
    "Notifier",
    "Signals",
    "SnsNotifier",
    "TierReading",
    "Transition",
    "advance",
    "budget_level",
    "coerce_state",
    "evaluate_and_record",
    "initial_state",
    "message",
    "most_severe",
    "read_signals",
    "record_evaluation",
    "subject",
    "transition_id",
]
