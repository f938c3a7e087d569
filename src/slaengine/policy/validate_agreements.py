"""One entry of a policy file's ``agreements`` list: a policy's keys and its own three."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from slaengine.policy.definition import MetricDefinition
from slaengine.policy.model import (
    AGREEMENT_KINDS,
    AGREEMENT_ON_UNMATCH,
    AGREEMENT_STARTS,
    ATTACHED,
    KEEP,
    OLA,
)
from slaengine.policy.nodes import FileContext, describe
from slaengine.policy.source import YNode, YSeq
from slaengine.policy.validate_policy import Draft, parse_policy
from slaengine.problems import did_you_mean

AGREEMENT_KEYS = ("kind", "starts", "on_unmatch")


@dataclass(slots=True)
class AgreementDraft:
    """An agreement before its calendars are resolved: its policy part and its own keys."""

    draft: Draft
    kind: str = OLA
    starts: str = ATTACHED
    on_unmatch: str = KEEP


def _one_of(ctx: FileContext, node: YNode, key: str, choices: Sequence[str]) -> str | None:
    value = ctx.text(node, f"'{key}'")
    if value is not None and value not in choices:
        ctx.report(
            node,
            "E214",
            f"unknown value '{value}' for '{key}'; expected one of "
            f"{', '.join(choices)}{did_you_mean(value, choices)}",
        )
        return None
    return value


def agreements_of(
    ctx: FileContext, node: YNode, defined: Mapping[str, MetricDefinition | None]
) -> list[AgreementDraft]:
    """The agreements of one file's ``agreements`` list (E103 when it is not a list)."""
    if not isinstance(node, YSeq):
        ctx.report(node, "E103", f"'agreements' must be a list, got {describe(node)}")
        return []
    found: list[AgreementDraft] = []
    for index, item in enumerate(node.items):
        draft = parse_policy(ctx, item, index, defined, noun="agreement", extra_keys=AGREEMENT_KEYS)
        if draft is None:
            continue
        agreement = AgreementDraft(draft)
        entries = draft.node.entries
        if "kind" in entries:
            agreement.kind = _one_of(ctx, entries["kind"][1], "kind", AGREEMENT_KINDS) or OLA
        if "starts" in entries:
            starts = _one_of(ctx, entries["starts"][1], "starts", AGREEMENT_STARTS)
            agreement.starts = starts or ATTACHED
        if "on_unmatch" in entries:
            node = entries["on_unmatch"][1]
            agreement.on_unmatch = _one_of(ctx, node, "on_unmatch", AGREEMENT_ON_UNMATCH) or KEEP
        found.append(agreement)
    return found


__all__ = ["AGREEMENT_KEYS", "AgreementDraft", "agreements_of"]
