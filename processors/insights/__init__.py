"""CloudWatch Logs Insights query definitions generated from the spec (processors/insights/queries.py)."""

from processors.insights.queries import InsightsError, Query, queries, rewrite_template, slo_query

__all__ = ["InsightsError", "Query", "queries", "rewrite_template", "slo_query"]
