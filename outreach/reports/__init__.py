"""Figures of the service: indicators, reports and their exports (issue 11)."""
