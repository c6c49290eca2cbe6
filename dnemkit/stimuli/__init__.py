"""Synthetic stimuli and movies (pure numpy generators)."""
