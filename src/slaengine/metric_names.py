"""How readers of clock results name, order and number metrics, built-in or user-defined.

A clock result carries only its metric's name. The four built-in metrics have
fixed labels and a report order; any other name is a metric defined in a policy,
shown by the ``label`` its definition carries or else by its name with
underscores as spaces (``time_to_own`` reads "Time to own"), and listed after
the built-ins by name. Every report, table, explanation and message asks here,
so a user-defined metric reads like a built-in one everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from slaengine.policy.model import MetricPolicy, Policy, PolicySet
from slaengine.vocabulary import MetricKind

#: The built-in metrics in report order.
BUILTIN_METRICS: Final = tuple(MetricKind)
#: How people read the built-in metrics' names.
BUILTIN_LABELS: Final[Mapping[str, str]] = {
    MetricKind.FIRST_RESPONSE: "First response",
    MetricKind.NEXT_RESPONSE: "Next response",
    MetricKind.PERIODIC_UPDATE: "Periodic update",
    MetricKind.RESOLUTION: "Resolution",
}
#: Built-in metrics with an instance per cycle: their instance number is always shown.
REPEATING: Final[frozenset[str]] = frozenset({MetricKind.NEXT_RESPONSE, MetricKind.PERIODIC_UPDATE})

#: A metric's name -> the label its definition gives (only metrics that give one).
Labels = Mapping[str, str]


def definition_name(metric: MetricPolicy) -> str:
    """The name a metric's clocks carry (``ClockResult.metric``)."""
    return metric.kind


def definition_label(metric: MetricPolicy) -> str | None:
    """The human label a metric's definition gives (its ``label:``), if it gives one."""
    return metric.definition.label or None


def solve_fulfilling(policy: Policy | None) -> frozenset[str]:
    """The user-defined metrics of ``policy`` that a solve fulfils (``stop: solved``, like
    ``resolution``): their clocks stopped by a solve measured a full duration."""
    if policy is None:
        return frozenset()
    return frozenset(
        definition_name(m)
        for m in policy.metrics
        if m.kind not in BUILTIN_LABELS and m.solve_fulfils
    )


def labels_of(policies: PolicySet | Iterable[Policy] | None) -> dict[str, str]:
    """Every metric label given by ``policies``' definitions, by metric name.

    When two policies label the same metric differently the first policy's wins
    (policies are tried in order, so it is the one most tickets meet first). A
    :class:`PolicySet`'s agreements' metrics count too, after its policies; each is also
    keyed as the reports key an agreement's clocks (``tier2-ola/time_to_own``), with the
    whole name they show (``tier2-ola: Ownership``), so an agreement's own label wins there.
    """
    if policies is None:
        return {}
    found: dict[str, str] = {}
    items = policies.policies if isinstance(policies, PolicySet) else policies
    for policy in items:
        for metric in policy.metrics:
            label = definition_label(metric)
            if label is not None:
                found.setdefault(definition_name(metric), label)
    if isinstance(policies, PolicySet):
        for agreement in policies.agreements:
            for metric in agreement.policy.metrics:
                label = definition_label(metric)
                if label is not None:
                    name = definition_name(metric)
                    found.setdefault(f"{agreement.name}/{name}", f"{agreement.name}: {label}")
                    found.setdefault(name, label)
    return found


def metric_label(name: str, labels: Labels | None = None) -> str:
    """A metric's name for people, capitalised for a heading or column: "Time to own".

    The definition's label (from ``labels``) wins; a built-in metric has its own;
    any other name reads with spaces for underscores.
    """
    given = labels.get(name) if labels else None
    if given:
        return given
    builtin = BUILTIN_LABELS.get(name)
    if builtin is not None:
        return builtin
    words = " ".join(name.replace("_", " ").split()) or name
    return words[:1].upper() + words[1:]


def metric_words(name: str, labels: Labels | None = None) -> str:
    """A metric's name inside a sentence: "first response", "time to own".

    A label the definition gives is kept as written (it may hold a proper noun).
    """
    given = labels.get(name) if labels else None
    if given:
        return given
    label = metric_label(name)
    return label[:1].lower() + label[1:]


def ordered_metrics(names: Iterable[str]) -> list[str]:
    """``names`` without repeats: the built-in metrics in report order, then others by name."""
    seen = set(names)
    builtin = [str(m) for m in BUILTIN_METRICS if m in seen]
    return builtin + sorted(str(m) for m in seen - set(BUILTIN_METRICS))


def instance_name(metric: str, instance: int, repeats: bool = False) -> str:
    """``next_response #2``; a metric that does not repeat is named alone.

    ``repeats`` says the metric has (or may have) more than one instance on the
    ticket: the built-in repeating metrics always show their number.
    """
    if metric in REPEATING or repeats or instance > 1:
        return f"{metric} #{instance}"
    return metric


def repeated(metrics: Sequence[tuple[str, int]]) -> frozenset[str]:
    """The metrics of ``(metric, instance)`` pairs that have more than one instance."""
    return frozenset(metric for metric, instance in metrics if instance > 1)


def repeating(policy: Policy | None) -> frozenset[str]:
    """The metrics of ``policy`` whose definition repeats (``repeat: true``, next_response,
    periodic_update): their instance numbers are shown from the first."""
    if policy is None:
        return frozenset()
    return frozenset(definition_name(m) for m in policy.metrics if m.definition.repeat)


__all__ = [
    "BUILTIN_LABELS",
    "BUILTIN_METRICS",
    "REPEATING",
    "Labels",
    "definition_label",
    "definition_name",
    "instance_name",
    "labels_of",
    "metric_label",
    "metric_words",
    "ordered_metrics",
    "repeated",
    "repeating",
    "solve_fulfilling",
]
