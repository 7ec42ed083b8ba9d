"""Closing the loop: staff answers become knowledge; the scorecard."""
