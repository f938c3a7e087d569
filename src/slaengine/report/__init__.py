"""Renderings of evaluation results for people (tables) and machines (JSON)."""
