"""slo-pipeline: log-native SLOs, traces and burn-rate paging for AWS serverless systems."""

__version__ = "0.1.0"
