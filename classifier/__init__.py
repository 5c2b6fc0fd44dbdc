"""Buwei 不为: classify reports of official inaction by cause (unwilling, afraid, unable, other)."""

__version__ = "0.1.0"
