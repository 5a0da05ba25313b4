"""A small PowerShell tokenizer for tests of generated runbooks: comments, statements, single-quoted strings.

Enough of PowerShell's lexical rules to tell code from data in what hybridkit writes: ``<# ... #>`` block comments
(ended by the first ``#>``), ``#`` line comments (ended by CR or LF), single-quoted strings (any of PowerShell's
five single-quote characters opens and closes one; two in a row stand for one), and bare words. A double-quoted
string, a ``$(`` subexpression or a backtick outside quotes is reported as an error: hybridkit never writes them
outside a comment.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Token", "Tokens", "tokenize", "SINGLE_QUOTES"]

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_PUNCT = ("@(", "@{", "(", ")", "{", "}", ",", ";", "=", "|")


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str  # "word", "str", "punct"
    text: str


@dataclasses.dataclass
class Tokens:
    statements: list[list[Token]]
    line_comments: list[str]
    block_comments: list[str]
    errors: list[str]


def tokenize(text: str) -> Tokens:
    """Split ``text`` as PowerShell would into statements (one per line outside quotes) and comments."""
    out = Tokens([], [], [], [])
    current: list[Token] = []
    i, n = 0, len(text)

    def end_statement() -> None:
        nonlocal current
        if current:
            out.statements.append(current)
            current = []

    while i < n:
        c = text[i]
        if text.startswith("<#", i):
            j = text.find("#>", i + 2)
            if j < 0:
                out.errors.append("unterminated block comment")
                out.block_comments.append(text[i + 2 :])
                break
            out.block_comments.append(text[i + 2 : j])
            i = j + 2
            continue
        if c == "#":
            j = i
            while j < n and text[j] not in "\r\n":
                j += 1
            out.line_comments.append(text[i + 1 : j])
            i = j
            continue
        if c in "\r\n":
            end_statement()
            i += 1
            continue
        if c in " \t":
            i += 1
            continue
        if c in SINGLE_QUOTES:
            j, buf = i + 1, []
            while True:
                if j >= n:
                    out.errors.append("unterminated string")
                    break
                if text[j] in SINGLE_QUOTES:
                    if j + 1 < n and text[j + 1] in SINGLE_QUOTES:
                        buf.append(text[j])
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            current.append(Token("str", "".join(buf)))
            i = j + 1
            continue
        if c in '"`' or text.startswith("$(", i) or text.startswith("@'", i) or text.startswith('@"', i):
            out.errors.append(f"unexpected {text[i:i + 2]!r} outside quotes")
            i += 1
            continue
        punct = next((p for p in _PUNCT if text.startswith(p, i)), None)
        if punct:
            current.append(Token("punct", punct))
            i += len(punct)
            continue
        j = i
        while j < n and text[j] not in " \t\r\n" + SINGLE_QUOTES + '"`' and not any(
                text.startswith(p, j) for p in _PUNCT):
            j += 1
        current.append(Token("word", text[i:j]))
        i = j
    end_statement()
    return out
