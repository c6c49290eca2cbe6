"""Experiments: stimulus sets run through an encoder's models, analysed, and written as results datasets."""
