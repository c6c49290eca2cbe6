"""dnemkit.data"""
