"""The runner platform's names as the shipped spec (processors/slos.yaml) declares them, plus the engine's
constants: tests may name the domain; the engine reads it from the spec. A test keeps these equal to the spec."""

from __future__ import annotations

from typing import Final

from processors.conventions import *  # noqa: F403  (tests use one namespace for constants and names)

WEBHOOK_RECEIVED: Final = "webhook_received"
JOB_QUEUED: Final = "job_queued"
TASK_LAUNCHED: Final = "task_launched"
RUNNER_STARTED: Final = "runner_started"
CACHE_HIT: Final = "cache_hit"
CACHE_MISS: Final = "cache_miss"
WORKFLOW_COMPLETED: Final = "workflow_completed"
RUNNER_ORPHANED: Final = "runner_orphaned"
API_REQUEST: Final = "api_request"
RECONCILE_COMPLETED: Final = "reconcile_completed"
CACHE_EVICTED: Final = "cache_evicted"

VOCABULARY: Final = (
    WEBHOOK_RECEIVED,
    JOB_QUEUED,
    TASK_LAUNCHED,
    RUNNER_STARTED,
    CACHE_HIT,
    CACHE_MISS,
    WORKFLOW_COMPLETED,
    RUNNER_ORPHANED,
    API_REQUEST,
    RECONCILE_COMPLETED,
    CACHE_EVICTED,
)

MILESTONES: Final = (WEBHOOK_RECEIVED, JOB_QUEUED, TASK_LAUNCHED, RUNNER_STARTED, WORKFLOW_COMPLETED)
TERMINAL_MILESTONES: Final = (WORKFLOW_COMPLETED, RUNNER_ORPHANED)
TRACKED_MILESTONES: Final = (*MILESTONES, RUNNER_ORPHANED)

SERVICE_WEBHOOK: Final = "WebhookHandlerGHA"
SERVICE_QUEUE: Final = "QueueProcessor"
SERVICE_RUNNER: Final = "Runner"
SERVICE_RECONCILER: Final = "Reconciler"
SERVICE_API: Final = "Api"

QUEUE_LATENCY: Final = "queue-latency"
CACHE_HIT_RATE: Final = "cache-hit-rate"
DEPLOY_SUCCESS: Final = "deploy-success"
ORPHAN_RATE: Final = "orphan-rate"
API_AVAILABILITY: Final = "api-availability"

SLO_NAMES: Final = (QUEUE_LATENCY, CACHE_HIT_RATE, DEPLOY_SUCCESS, ORPHAN_RATE, API_AVAILABILITY)

SLO_METRIC_NAMES: Final = {
    QUEUE_LATENCY: "SLOQueueLatencyP95",
    CACHE_HIT_RATE: "SLOCacheHitRate",
    DEPLOY_SUCCESS: "SLODeploySuccessRate",
    ORPHAN_RATE: "SLOOrphanRate",
    API_AVAILABILITY: "SLOApiAvailability",
}
