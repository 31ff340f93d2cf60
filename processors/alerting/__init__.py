"""The alerting stage: burn-rate, budget and no-data alerts from an evaluation; SNS notifications; the
alert log. `evaluate_and_record` is the whole sequence, used by the evaluator Lambda and `slo replay`."""

from processors.alerting.exceptions import AlertingError, NotificationError, NotificationsFailedError
from processors.alerting.notify import LocalNotifier, Notifier, SnsNotifier, message, subject
from processors.alerting.policy import Signals, TierReading, budget_level, most_severe, read_signals
from processors.alerting.service import backtest_hook, evaluate_and_record, open_view, record_evaluation
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
    "backtest_hook",
    "budget_level",
    "coerce_state",
    "evaluate_and_record",
    "initial_state",
    "message",
    "most_severe",
    "open_view",
    "read_signals",
    "record_evaluation",
    "subject",
    "transition_id",
]
