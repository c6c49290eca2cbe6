"""dnemkit.analysis"""
