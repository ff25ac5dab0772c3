"""Templates about suppressions themselves."""

from __future__ import annotations

from collections.abc import Iterator

from kscan.checks.base import NoParams, Violation, WrittenSuppressions, template


@template("suppression-reason", scope="suppressions", params=NoParams)
def suppression_reason(params: NoParams, suppressor: WrittenSuppressions) -> Iterator[Violation]:
    """Annotations and inline comments that suppress findings without saying why."""
    for directive in suppressor.all_directives():
        if directive.reason or directive.kind == "external":
            continue
        named = [s if suppressor.names_a_rule(s) else "(an unknown rule)" for s in directive.rules]
        what = ", ".join(named) or "nothing"
        message = (
            f"The suppression of {what} gives no reason; write one after the rule list "
            f'(`kscan.io/ignore: "RULE: reason"` or `# kscan: ignore[RULE] reason`).'
        )
        yield Violation(directive.pointer, message, record=directive)
