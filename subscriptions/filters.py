"""Put this pipeline's subscription filter on a log group, or say why not.

A log group takes at most two subscription filters. When both slots hold someone else's filters we report
and skip: we never remove or replace a filter that isn't ours. Our own filter is recognised by name (or by
our destination), so running again changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from botocore.exceptions import ClientError

DEFAULT_FILTER_NAME: Final = "slo-pipeline"
MAX_FILTERS_PER_LOG_GROUP: Final = 2

ENV_DESTINATION_ARN: Final = "SUBSCRIPTION_DESTINATION_ARN"
ENV_ROLE_ARN: Final = "SUBSCRIPTION_ROLE_ARN"
ENV_FILTER_NAME: Final = "SUBSCRIPTION_FILTER_NAME"
ENV_FILTER_PATTERN: Final = "SUBSCRIPTION_FILTER_PATTERN"
ENV_PREFIXES: Final = "SUBSCRIBE_LOG_GROUP_PREFIXES"
ENV_EXCLUDE_PREFIXES: Final = "EXCLUDE_LOG_GROUP_PREFIXES"
ENV_EXCLUDE_NAMES: Final = "EXCLUDE_LOG_GROUP_NAMES"

Action = Literal[
    "subscribed",  # our filter was put (or would be, with dry_run)
    "updated",  # our filter existed with another pattern, destination or role, and was replaced
    "already_subscribed",  # our filter (or another filter to our destination) is already there
    "excluded",  # one of the pipeline's own log groups, or an excluded prefix: never subscribed
    "not_selected",  # outside the configured prefixes
    "limit_reached",  # two filters that aren't ours: reported, skipped
    "gone",  # the log group was deleted before we got to it
]


class SubscriptionError(Exception):
    """The configuration is unusable (e.g. no destination)."""


@dataclass(frozen=True)
class Outcome:
    log_group: str
    action: Action
    detail: str = ""
    dry_run: bool = False

    @property
    def verb(self) -> str:
        """The action, as "would be subscribed" in a dry run that changed nothing."""
        return f"would be {self.action}" if self.dry_run and self.action in ("subscribed", "updated") else self.action

    def line(self) -> str:
        return f"{self.log_group}: {self.verb}" + (f" ({self.detail})" if self.detail else "")


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class SubscriptionConfig:
    destination_arn: str
    role_arn: str
    filter_name: str = DEFAULT_FILTER_NAME
    filter_pattern: str = ""
    prefixes: tuple[str, ...] = ()  # empty: every log group not excluded
    exclude_prefixes: tuple[str, ...] = ()
    exclude_names: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.destination_arn:
            raise SubscriptionError("no destination: set the Kinesis stream ARN")
        if not self.role_arn:
            raise SubscriptionError("no role: CloudWatch Logs needs a role to put records into Kinesis")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SubscriptionConfig:
        env = os.environ if env is None else env
        return cls(
            destination_arn=env.get(ENV_DESTINATION_ARN, ""),
            role_arn=env.get(ENV_ROLE_ARN, ""),
            filter_name=env.get(ENV_FILTER_NAME) or DEFAULT_FILTER_NAME,
            filter_pattern=env.get(ENV_FILTER_PATTERN, ""),
            prefixes=_split(env.get(ENV_PREFIXES)),
            exclude_prefixes=_split(env.get(ENV_EXCLUDE_PREFIXES)),
            exclude_names=frozenset(_split(env.get(ENV_EXCLUDE_NAMES))),
        )


def is_excluded(config: SubscriptionConfig, log_group: str) -> bool:
    """The pipeline's own log groups are never subscribed: their logs would loop back into the stream."""
    return log_group in config.exclude_names or log_group.startswith(config.exclude_prefixes)


def _is_selected(config: SubscriptionConfig, log_group: str) -> bool:
    return not config.prefixes or log_group.startswith(config.prefixes)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def subscribe_log_group(
    logs: Any, config: SubscriptionConfig, log_group: str, *, dry_run: bool = False
) -> Outcome:
    """Put our filter on one log group unless it is excluded, already ours, or full."""
    if is_excluded(config, log_group):
        return Outcome(log_group, "excluded", "pipeline's own log group")
    if not _is_selected(config, log_group):
        return Outcome(log_group, "not_selected")
    try:
        filters = logs.describe_subscription_filters(logGroupName=log_group).get("subscriptionFilters", [])
    except ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return Outcome(log_group, "gone")
        raise
    ours = [f for f in filters if f.get("filterName") == config.filter_name]
    to_our_stream = [f for f in filters if f.get("destinationArn") == config.destination_arn]
    action: Action = "subscribed"
    if ours:
        current = ours[0]
        if (
            current.get("destinationArn") == config.destination_arn
            and current.get("filterPattern", "") == config.filter_pattern
            and current.get("roleArn") == config.role_arn
        ):
            return Outcome(log_group, "already_subscribed")
        action = "updated"
    elif to_our_stream:
        name = to_our_stream[0].get("filterName", "")
        return Outcome(log_group, "already_subscribed", f"filter {name!r} already sends to our stream")
    elif len(filters) >= MAX_FILTERS_PER_LOG_GROUP:
        names = ", ".join(sorted(str(f.get("filterName")) for f in filters))
        return Outcome(log_group, "limit_reached", f"already has {len(filters)} filters: {names}")
    if dry_run:
        return Outcome(log_group, action, dry_run=True)
    try:
        logs.put_subscription_filter(
            logGroupName=log_group,
            filterName=config.filter_name,
            filterPattern=config.filter_pattern,
            destinationArn=config.destination_arn,
            roleArn=config.role_arn,
            distribution="Random",  # spread over shards; per-stream order isn't needed, stitching sorts
        )
    except ClientError as exc:
        code = _error_code(exc)
        if code == "ResourceNotFoundException":
            return Outcome(log_group, "gone")
        if code == "LimitExceededException":
            return Outcome(log_group, "limit_reached", "CloudWatch Logs refused a third filter")
        raise
    return Outcome(log_group, action)


def log_groups(logs: Any, prefixes: tuple[str, ...]) -> Iterator[str]:
    """Existing log group names under the prefixes (all groups when there are none), each once."""
    seen: set[str] = set()
    paginator = logs.get_paginator("describe_log_groups")
    for prefix in prefixes or ("",):
        kwargs = {"logGroupNamePrefix": prefix} if prefix else {}
        for page in paginator.paginate(**kwargs):
            for group in page.get("logGroups", []):
                name = group["logGroupName"]
                if name not in seen:
                    seen.add(name)
                    yield name


def backfill(logs: Any, config: SubscriptionConfig, *, dry_run: bool = False) -> list[Outcome]:
    """Subscribe the log groups that existed before the auto-subscriber did."""
    names = log_groups(logs, config.prefixes)
    return [subscribe_log_group(logs, config, name, dry_run=dry_run) for name in names]
