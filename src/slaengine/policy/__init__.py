"""SLA policies: model, YAML loading and validation."""

from slaengine.policy.load import load_policies, loads_policies, read_policies
from slaengine.policy.match import Match
from slaengine.policy.model import MetricPolicy, Policy, PolicySet

__all__ = [
    "Match",
    "MetricPolicy",
    "Policy",
    "PolicySet",
    "load_policies",
    "loads_policies",
    "read_policies",
]
