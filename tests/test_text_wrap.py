"""The text report wraps lines with a shortcut for text that fits on one line; it must give
what ``textwrap`` gives for any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kscan.report.text import _NO_BREAK, WIDTH, _wrapped, _wrapped_lines

WORDS = st.text(alphabet=st.sampled_from("ab:/- \t\n\u00a0\u2028é" + _NO_BREAK), max_size=130)


def by_textwrap(text: str, indent: str, subsequent: str) -> list[str]:
    """What ``textwrap`` gives, without the shortcut and without the memo."""
    return list(_wrapped_lines.__wrapped__(text, indent, subsequent))


@settings(max_examples=500, deadline=None)
@given(WORDS, st.sampled_from(["", "    ", "        "]), st.sampled_from(["", "      "]))
def test_wrapping_is_textwraps(text: str, indent: str, subsequent: str) -> None:
    for _ in range(2):  # the second time from the memo
        assert list(_wrapped(text, indent, subsequent)) == by_textwrap(text, indent, subsequent)


def test_a_line_that_fits_exactly_is_not_wrapped() -> None:
    text = "x" * (WIDTH - 4)
    assert (
        list(_wrapped(text, "    ")) == ["    " + text + "\n"] == by_textwrap(text, "    ", "    ")
    )
    longer = "word " * 30
    assert list(_wrapped(longer.strip(), "  ")) == by_textwrap(longer.strip(), "  ", "  ")
