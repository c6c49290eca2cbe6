"""Encoders: the protocol, DwiseNeuro (exact), the synthetic mouse, ensembles, loading by spec string."""

from .base import CallableEncoder, Encoder, Ensemble, members_of, model_names, select_models
from .dwiseneuro.checkpoint import read_checkpoint, save_checkpoint
from .dwiseneuro.network import MAIN_CONFIG, DwiseNeuro
from .dwiseneuro.encoder import DwiseNeuroEncoder
from .spec import load_encoder
from .synthetic import SyntheticMouse, SyntheticMouseConfig, sample_responses, simulate_behavior

__all__ = ["CallableEncoder", "DwiseNeuro", "DwiseNeuroEncoder", "Encoder", "Ensemble", "MAIN_CONFIG",
           "SyntheticMouse", "SyntheticMouseConfig", "load_encoder", "members_of", "model_names", "read_checkpoint",
           "sample_responses", "save_checkpoint", "select_models", "simulate_behavior"]
