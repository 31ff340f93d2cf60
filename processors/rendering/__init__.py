"""Rendering: the terminal dashboard of a status document and the self-contained HTML report.

Both read only the JSON shapes other stages publish (status document, alert log, trace view), so they can
be fed from a live store, a file, or a test fixture.
"""

from processors.rendering.collect import cache_slice_strip, collect_report_data
from processors.rendering.dashboard import render_dashboard
from processors.rendering.exceptions import RenderingError
from processors.rendering.report import build_report
from processors.rendering.types import CacheSlice, LatencyPoint, ReportData, SloInfo

__all__ = [
    "CacheSlice",
    "LatencyPoint",
    "RenderingError",
    "ReportData",
    "SloInfo",
    "build_report",
    "cache_slice_strip",
    "collect_report_data",
    "render_dashboard",
]
