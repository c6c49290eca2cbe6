"""dnemkit.reconstruction"""
