"""Routers: classify, model (labels, info, report, reload), files, health and metrics, the page."""
