"""Classifying: structured log events → SLI events, for SLIs that need no cross-event state."""

from processors.classifying.classify import Classifier, SliEvent

__all__ = ["Classifier", "SliEvent"]
