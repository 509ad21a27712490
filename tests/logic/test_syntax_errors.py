"""Syntax errors: raised at parse time, with a message a data manager understands and the position."""

from __future__ import annotations

import pytest

from forms.logic import LogicSyntaxError, parse

# (source, line, column, words the message must contain)
ERRORS = [
    ("[a] = 1)", 1, 8, "unexpected ')' at line 1, column 8"),
    ("foo(1)", 1, 1, "unknown function 'foo'"),
    ("[a] = 1 or Foo ( 2 )", 1, 12, "unknown function 'Foo'"),
    ("[a] = 'x", 1, 7, "unclosed string"),
    ('[a] = "x\n and [b] = 1', 1, 7, "unclosed string"),
    ("[a] = 1 and\n  [b] = (2", 2, 11, "missing ')'"),
    ("if([a]=1, 2 3)", 1, 13, "unexpected '3'"),
    ("[a] = yes", 1, 7, "unknown name 'yes'"),
    ("round(1,2,3)", 1, 1, "round() takes 1 to 2 arguments, 3 given"),
    ("if([a], 1)", 1, 1, "if() takes 3 arguments, 2 given"),
    ("sum()", 1, 1, "sum() takes at least 1 argument, 0 given"),
    ("datediff([a],[b],'q')", 1, 18, "unit must be one of"),
    ("datediff([a],[b],'d','xyz')", 1, 22, "4th argument"),
    ("[a b] = 1", 1, 1, "'[a b]' is not a valid field name"),
    ("[x-y] = 1", 1, 1, "unknown smart variable '[x-y]'"),
    ("[a] = 1 # note", 1, 9, "comment must start its own line"),
    ("[cb(a b)] = 1", 1, 1, "invalid checkbox code"),
    ("[e][a][b][c] = 1", 1, 1, "invalid reference"),
    ("[2] = 1", 1, 1, "an instance needs a field before it"),
    ("1 +", 1, 4, "unexpected end of logic"),
    ("[a", 1, 1, "unclosed or invalid '['"),
    ("[a] = 1 or\n\n   [b] = = 2", 3, 10, "unexpected '='"),
    ("[a]=1\r\n  or )", 2, 6, "unexpected ')'"),
    ("[a] = 1 [b] = 2", 1, 9, "unexpected '[b]'"),
    ("[a] = not [b]", 1, 7, "unexpected 'not'"),
    ("[a] = 1 and or [b] = 2", 1, 13, "unexpected 'or'"),
    ("[a] $ 1", 1, 5, "unexpected character '$'"),
    ("[record-name][2] = 1", 1, 1, "cannot take an event or an instance"),
    ("1e5 = 1", 1, 2, "unexpected 'e5'"),
]


@pytest.mark.parametrize(("source", "line", "column", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error_message_and_position(source: str, line: int, column: int, words: str) -> None:
    with pytest.raises(LogicSyntaxError) as caught:
        parse(source)
    error = caught.value
    assert words in error.message, error.message
    assert (error.line, error.column) == (line, column), error.message
    assert f"at line {line}, column {column}" in str(error)
    # position is the 0-based offset of the same place
    lines = source.replace("\r\n", "\n").split("\n")
    crlf_shift = source[: error.position].count("\r\n")
    assert error.position - crlf_shift == sum(len(text) + 1 for text in lines[: line - 1]) + column - 1


@pytest.mark.parametrize("source", ["", "   ", "# only a comment", "// one\n# two\n"])
def test_empty_logic(source: str) -> None:
    with pytest.raises(LogicSyntaxError, match="empty logic"):
        parse(source)


def test_error_is_a_value_error_with_fields() -> None:
    error = LogicSyntaxError("unexpected ')' at line 1, column 14", 13, 1, 14)
    assert isinstance(error, ValueError)
    assert (error.message, error.position, error.line, error.column) == (
        "unexpected ')' at line 1, column 14",
        13,
        1,
        14,
    )


@pytest.mark.parametrize(
    "source",
    [
        "[a] = 1 AND [b] = 2 Or NOT [c] = 3",
        "[orders] = 1 or [notes] = 2 or [android] = 3",  # field names starting with keywords
        "if ([a] === 5, 5, 0)",
        "[a] <== 1 or [a] >== 2 or [a] !== 3",
        "[ev_1][cb(-99)][previous-instance] = 1",
        "[cb(1.5)] = 1 and [cb(A_b-c)] = 0",
        "  # comment with 'quote\n[a] = 1\n    // another one\n",
        "[a] = '#' or [b] = \"//\"",
        "datediff(today, now, 'h')",
        "[aggregate-mean:weight] > 0 and [survey-url:baseline] <> ''",
        "[event-name][a] = 1 and [previous-event-name][a] = 2",
        "ROUND(1.5) + Sum(1) + MAX(2, 3)",
    ],
)
def test_valid_logic(source: str) -> None:
    parse(source)
