"""The trainer accountant: ``PrivacyAccountant`` — steps recorded as they run, history
merging, durable state files (``trainer``)."""
from .trainer import PrivacyAccountant

__all__ = ["PrivacyAccountant"]
