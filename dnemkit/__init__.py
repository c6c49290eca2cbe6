"""dnemkit: movie reconstruction from mouse V1 activity and in-silico encoder characterisation."""
__version__ = "0.1.0"
