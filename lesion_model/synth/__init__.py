"""A synthetic DeepLesion (``lesion-synth``): CT phantoms with labelled lesions and their reports."""

from .generate import SynthConfig, SynthLesion, generate, lesion_labels

__all__ = ["SynthConfig", "SynthLesion", "generate", "lesion_labels"]
