"""A benefit's Making Data Count chart (`spc_chart`) and its legend (`spc_legend`), as inline SVG."""

from pipeline.report.spc_chart.chart import spc_chart
from pipeline.report.spc_chart.marks import POINT_WORDS, legend_marker, point_shape, spc_legend

__all__ = ["POINT_WORDS", "legend_marker", "point_shape", "spc_chart", "spc_legend"]
