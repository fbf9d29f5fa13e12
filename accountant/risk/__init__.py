"""What ε means: trade-off curves and attack risks with certified brackets
(docs/math.md §15). Reads only the accountants' privacy profile δ(ε)."""
from .metrics import GdpFit, advantage, bayes_success, gdp_fit, reconstruction_risk
from .results import RiskResult, TradeoffCurve
from .targets import (AdvantageTarget, BayesTarget, GdpMuTarget, ReconstructionTarget,
                      RiskTarget, TprTarget)
from .tradeoff import tpr, tradeoff

__all__ = ["RiskResult", "TradeoffCurve", "GdpFit", "tpr", "tradeoff", "advantage",
           "bayes_success", "reconstruction_risk", "gdp_fit", "RiskTarget", "TprTarget",
           "AdvantageTarget", "BayesTarget", "ReconstructionTarget", "GdpMuTarget"]
