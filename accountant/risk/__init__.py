"""What ε means: trade-off curves and attack risks with certified brackets
(docs/math.md §15). Reads only the accountants' privacy profile δ(ε)."""
from .results import RiskResult, TradeoffCurve
from .tradeoff import tpr, tradeoff

__all__ = ["RiskResult", "TradeoffCurve", "tpr", "tradeoff"]
