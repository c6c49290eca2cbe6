"""Figures and videos: one module per kind of result."""
