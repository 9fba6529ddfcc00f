"""Scoring models against real data with protocol-stamped metrics, and recording the scores."""
