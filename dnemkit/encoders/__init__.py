"""dnemkit.encoders"""
