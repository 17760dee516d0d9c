"""Dashboards: the 24-hour cockpit and the history analysis, read from rollup tables."""
