"""A self-contained HTML report (tables and seaborn figures) built from a results store."""

from biobench.report.html import build_report

__all__ = ["build_report"]
