"""The SLO spec: the versioned file format (loader) mapped onto frozen model objects (model)."""

from processors.spec.exceptions import SpecError
from processors.spec.loader import burn_rate_factor, default_spec_path, default_tiers, load_spec, parse_spec
from processors.spec.model import (
    AlertPolicy,
    BurnRateTier,
    Condition,
    EventsSli,
    Journey,
    LatencySketch,
    LatencySli,
    Matcher,
    OperatorMetric,
    Phase,
    Resolution,
    ResolutionSli,
    Sli,
    Slo,
    Spec,
    Targets,
    TimeSliceSli,
)

__all__ = [
    "AlertPolicy",
    "BurnRateTier",
    "Condition",
    "EventsSli",
    "Journey",
    "LatencySketch",
    "LatencySli",
    "Matcher",
    "OperatorMetric",
    "Phase",
    "Resolution",
    "ResolutionSli",
    "Sli",
    "Slo",
    "Spec",
    "SpecError",
    "Targets",
    "TimeSliceSli",
    "burn_rate_factor",
    "default_spec_path",
    "default_tiers",
    "load_spec",
    "parse_spec",
]
