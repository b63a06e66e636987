"""Inline SVG charts with text alternatives (used by the status board)."""
