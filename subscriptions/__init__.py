"""Getting every service's logs into the stream: subscription filters on log groups (mode B, docs/deploy.md).

Mode A is an account-level subscription filter policy declared in sam/template.yaml and needs no code.
"""

from subscriptions.filters import (
    Outcome,
    SubscriptionConfig,
    SubscriptionError,
    backfill,
    is_excluded,
    subscribe_log_group,
)

__all__ = [
    "Outcome",
    "SubscriptionConfig",
    "SubscriptionError",
    "backfill",
    "is_excluded",
    "subscribe_log_group",
]
