"""dnemkit.sweeps"""
