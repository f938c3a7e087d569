"""Run policy-test cases through the engine and compare the clocks with what they expect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from slaengine.clocks import BREACHED, ClockResult
from slaengine.durations import format_duration
from slaengine.engine import TicketResult, evaluate_timeline
from slaengine.metric_names import definition_name
from slaengine.policy.model import PolicySet
from slaengine.policytest.model import DURATION_FIELDS, INSTANT_FIELDS, Case, Check, Expectation


@dataclass(frozen=True, slots=True)
class Failure:
    """One expectation a case did not meet; ``detail`` shows what the engine did instead."""

    line: int
    message: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """A case and its result: passed when there are no failures."""

    case: Case
    result: TicketResult
    failures: tuple[Failure, ...]

    @property
    def passed(self) -> bool:
        """True when every expectation held."""
        return not self.failures

    @property
    def policy(self) -> str | None:
        """Name of the policy the ticket was evaluated under (``None``: unmatched)."""
        return self.result.policy.name if self.result.policy else None


@dataclass(slots=True)
class SuiteResult:
    """Outcomes of every case run, with the policies no case touched."""

    outcomes: list[CaseOutcome] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """How many cases passed."""
        return sum(1 for o in self.outcomes if o.passed)

    @property
    def failed(self) -> int:
        """How many cases failed."""
        return len(self.outcomes) - self.passed


def show_instant(t: int | None, case: Case) -> str:
    """An instant in the offset the case's first event was written in, and its ``+offset``."""
    if t is None:
        return "null"
    zone = dt.timezone(dt.timedelta(seconds=case.anchor_offset))
    local = dt.datetime.fromtimestamp(t, zone).isoformat()
    local = local.removesuffix("+00:00") + ("Z" if local.endswith("+00:00") else "")
    delta = t - case.anchor
    return f"{local} ({'+' if delta >= 0 else '-'}{format_duration(abs(delta))})"


def clock_summary(clock: ClockResult, case: Case) -> str:
    """One line saying everything about a clock, in the words of an expectation."""
    stop = show_instant(clock.stop, case)
    if clock.stop_reason:
        stop += f" {clock.stop_reason}"
    return (
        f"{clock.qualified_metric} #{clock.instance}: state {clock.state}, "
        f"start {show_instant(clock.start, case)}, due {show_instant(clock.due, case)}, "
        f"stop {stop}, elapsed {format_duration(clock.elapsed)}, "
        f"remaining {format_duration(clock.remaining)}, target {format_duration(clock.target)}, "
        f"paused {format_duration(clock.paused)}, priority {clock.priority}, "
        f"calendar {clock.calendar}"
        + (f", group {clock.group}" if clock.group is not None else "")
        + (f", misses {clock.misses}" if clock.misses is not None else "")
    )


def _actual(clock: ClockResult, name: str) -> int | str | None:
    values: dict[str, int | str | None] = {
        "state": clock.state,
        "start": clock.start,
        "due": clock.due,
        "stop": clock.stop,
        "stop_reason": clock.stop_reason,
        "elapsed": clock.elapsed,
        "remaining": clock.remaining,
        "target": clock.target,
        "paused": clock.paused,
        "priority": clock.priority,
        "group": clock.group,
        # A clock whose metric counts no misses per message misses once when breached.
        "misses": clock.misses if clock.misses is not None else int(clock.state == BREACHED),
    }
    return values[name]


def _show(check: Check, value: int | str | None, case: Case) -> str:
    if check.field in INSTANT_FIELDS:
        return show_instant(value if isinstance(value, int) else None, case)
    if check.field in DURATION_FIELDS and isinstance(value, int):
        return format_duration(value)
    if check.field == "misses":
        return str(value)
    return "null" if value is None else f"'{value}'"


def _missing_clock(expectation: Expectation, result: TicketResult) -> str:
    what = f"metric {expectation.metric} #{expectation.instance}: expected a clock, got none"
    agreement, _, metric = expectation.metric.rpartition("/")
    if agreement:
        if all(a.name != agreement for a in result.agreements):
            return f"{what} (agreement '{agreement}' did not attach)"
        count = sum(1 for c in result.clocks if c.qualified_metric == expectation.metric)
        if count == 0:
            return f"{what} (no {metric} clock of agreement '{agreement}' started)"
        return f"{what} (the ticket has {count} {expectation.metric} instance(s))"
    policy = result.policy
    if policy is None:
        return f"{what} (the ticket matched no policy)"
    if all(definition_name(m) != expectation.metric for m in policy.metrics):
        return f"{what} (policy '{policy.name}' has no {expectation.metric})"
    count = sum(1 for c in result.clocks if c.qualified_metric == expectation.metric)
    if count == 0:
        return f"{what} (no {expectation.metric} clock started)"
    return f"{what} (the ticket has {count} {expectation.metric} instance(s))"


def _check_expectation(expectation: Expectation, result: TicketResult, case: Case) -> list[Failure]:
    clock = next(
        (
            c
            for c in result.clocks
            if c.qualified_metric == expectation.metric and c.instance == expectation.instance
        ),
        None,
    )
    if clock is None:
        return [Failure(expectation.line, _missing_clock(expectation, result))]
    failures: list[Failure] = []
    label = f"metric {expectation.metric} #{expectation.instance}"
    for check in expectation.checks:
        got = _actual(clock, check.field)
        if got != check.value:
            failures.append(
                Failure(
                    check.line,
                    f"{label}: {check.field} expected {_show(check, check.value, case)}, "
                    f"got {_show(check, got, case)}",
                )
            )
    if failures:
        last = failures[-1]
        failures[-1] = Failure(last.line, last.message, "actual " + clock_summary(clock, case))
    return failures


def _ticket_summary(result: TicketResult) -> str:
    state = result.state
    tags = ", ".join(sorted(state.tags)) or "none"
    return (
        f"ticket: channel {state.channel}, priority {state.priority}, status {state.status}, "
        f"tags {tags}"
    )


def run_case(case: Case, policies: PolicySet) -> CaseOutcome:
    """Evaluate the case's ticket at its instant and check every expectation."""
    result = evaluate_timeline(policies, case.timeline, case.at)
    # The parser refuses an 'at' before creation, so the ticket always exists.
    assert result is not None
    failures: list[Failure] = []
    actual = result.policy.name if result.policy else None
    if case.check_policy and actual != case.policy:
        expected = f"'{case.policy}'" if case.policy else "no policy (null)"
        got = f"'{actual}'" if actual else "no policy (unmatched)"
        detail = _ticket_summary(result)
        if case.policy is not None:
            wanted = policies.by_name(case.policy)
            reasons = wanted.match.failed_conditions(result.state)
            if reasons:
                detail += f"; '{case.policy}' does not match: {'; '.join(reasons)}"
            else:
                detail += f"; '{case.policy}' matches but {got} comes first"
        failures.append(Failure(case.policy_line, f"policy expected {expected}, got {got}", detail))
    for expectation in case.expectations:
        failures.extend(_check_expectation(expectation, result, case))
    for metric, line in case.absent:
        clocks = [c for c in result.clocks if c.qualified_metric == metric]
        if clocks:
            failures.append(
                Failure(
                    line,
                    f"metric {metric}: expected no clock, got {len(clocks)} instance(s)",
                    "actual " + clock_summary(clocks[0], case),
                )
            )
    return CaseOutcome(case, result, tuple(failures))


def untested_policies(policies: PolicySet, outcomes: Iterable[CaseOutcome]) -> list[str]:
    """Names of the policies under which no case's ticket was evaluated, in policy order."""
    touched = {o.policy for o in outcomes}
    return [p.name for p in policies.policies if p.name not in touched]


def run_suite(groups: Sequence[tuple[PolicySet, Sequence[Case]]]) -> SuiteResult:
    """Run cases grouped by the policy set they test; collect coverage per set."""
    suite = SuiteResult()
    for policies, cases in groups:
        outcomes = [run_case(case, policies) for case in cases]
        suite.outcomes.extend(outcomes)
        for name in untested_policies(policies, outcomes):
            if name not in suite.untested:
                suite.untested.append(name)
    return suite


__all__ = [
    "CaseOutcome",
    "Failure",
    "SuiteResult",
    "clock_summary",
    "run_case",
    "run_suite",
    "show_instant",
    "untested_policies",
]
