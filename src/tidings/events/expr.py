"""Parser for Mailgun Events API filter expressions (contract §3.3).

The grammar, loosest binding first::

    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          # juxtaposition is an implicit AND
    unary    := "NOT"* primary
    primary  := TERM | "quoted phrase" | COMPARISON | "(" or_expr ")"

Keywords are upper-case only (``and`` is a plain term). A comparison is ``>N``, ``<N``,
``>=N`` or ``<=N`` with a whole number ``N`` (a space after the operator is allowed); a word
wrapped in angle brackets (``<id@host>``) is a term, not a comparison, so message ids parse.
Comparisons exist only where the caller says the field is numeric (``comparisons``, contract
§3.3); on a text field a word starting with ``<`` or ``>`` is a plain term (``<3``).

Every problem raises :class:`tidings.errors.BadRequest` whose message names the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

from tidings.errors import BadRequest

CompareOp = Literal[">", ">=", "<", "<="]
TokenKind = Literal["(", ")", "AND", "OR", "NOT", "term", "phrase", "cmp"]

MAX_DEPTH = 16
"""Deepest parenthesis nesting accepted."""

MAX_TERMS = 100
"""Most terms and comparisons accepted in one expression."""

_INT_RE = re.compile(r"[+-]?[0-9]{1,30}")
_KEYWORDS: dict[str, TokenKind] = {"AND": "AND", "OR": "OR", "NOT": "NOT"}
_PARENS: dict[str, TokenKind] = {"(": "(", ")": ")"}
_OPS: dict[str, CompareOp] = {">": ">", ">=": ">=", "<": "<", "<=": "<="}
_WORD_END = frozenset('()"')


@dataclass(frozen=True)
class Term:
    """A bare word or a quoted phrase (``quoted``); ``text`` is unescaped."""

    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Compare:
    """A numeric comparison: ``value <op> number``."""

    op: CompareOp
    number: int


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node: TypeAlias = Term | Compare | Not | And | Or


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str
    op: str = ""


def filter_error(field: str, problem: str) -> BadRequest:
    """The one error shape for a bad filter expression."""
    return BadRequest(f"Invalid filter expression for '{field}': {problem}")


def whole_number(text: str) -> int | None:
    """``text`` as an int if it is a plain (optionally signed) decimal whole number."""
    return int(text) if _INT_RE.fullmatch(text) else None


def parse(field: str, expression: str, *, comparisons: bool = True) -> Node:
    """Parse ``expression`` (the value of filter parameter ``field``) into an AST.

    With ``comparisons`` false (a text field) ``<``/``>`` words are terms, never comparisons.
    """
    tokens = _tokenize(field, expression, comparisons)
    if not tokens:
        raise filter_error(field, "empty expression")
    terms = sum(1 for t in tokens if t.kind in ("term", "phrase", "cmp"))
    if terms > MAX_TERMS:
        raise filter_error(field, f"too many terms (at most {MAX_TERMS})")
    return _Parser(field, tokens).parse()


# --- tokenizer -------------------------------------------------------------------------


def _tokenize(field: str, expression: str, comparisons: bool) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(expression):
        char = expression[pos]
        if char.isspace():
            pos += 1
        elif char in _PARENS:
            tokens.append(_Token(_PARENS[char], char))
            pos += 1
        elif char == '"':
            text, pos = _read_phrase(field, expression, pos + 1)
            tokens.append(_Token("phrase", text))
        else:
            word, pos = _read_word(expression, pos)
            tokens.append(_classify(word, comparisons))
    return tokens


def _read_phrase(field: str, expression: str, pos: int) -> tuple[str, int]:
    """Read a quoted phrase whose opening quote is just before ``pos``."""
    chars: list[str] = []
    while pos < len(expression):
        char = expression[pos]
        if char == '"':
            text = "".join(chars)
            if not text.strip():
                raise filter_error(field, "empty quoted phrase")
            return text, pos + 1
        if char == "\\" and pos + 1 < len(expression) and expression[pos + 1] in '"\\':
            pos += 1
            char = expression[pos]
        chars.append(char)
        pos += 1
    raise filter_error(field, "unterminated quoted phrase")


def _read_word(expression: str, pos: int) -> tuple[str, int]:
    start = pos
    while pos < len(expression):
        char = expression[pos]
        if char.isspace() or char in _WORD_END:
            break
        pos += 1
    return expression[start:pos], pos


def _classify(word: str, comparisons: bool) -> _Token:
    if word in _KEYWORDS:
        return _Token(_KEYWORDS[word], word)
    is_bracketed = len(word) > 2 and word.startswith("<") and word.endswith(">")
    if comparisons and word[0] in "<>" and not is_bracketed:
        op = word[:2] if word[1:2] == "=" else word[:1]
        return _Token("cmp", word[len(op) :], op)
    return _Token("term", word)


# --- parser ----------------------------------------------------------------------------


class _Parser:
    """Recursive descent over a token list; ``after`` is the operator wanting an operand."""

    def __init__(self, field: str, tokens: list[_Token]) -> None:
        self.field = field
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def parse(self) -> Node:
        node = self._or_expr(None)
        if self._peek() is not None:  # only an unmatched ")" can stop the top level
            raise self._error("unbalanced parenthesis")
        return node

    def _error(self, problem: str) -> BadRequest:
        return filter_error(self.field, problem)

    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _peek_kind(self) -> str | None:
        token = self._peek()
        return None if token is None else token.kind

    def _or_expr(self, after: str | None) -> Node:
        operands = [self._and_expr(after)]
        while self._peek_kind() == "OR":
            self._next()
            operands.append(self._and_expr("OR"))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and_expr(self, after: str | None) -> Node:
        operands = [self._unary(after)]
        while True:
            kind = self._peek_kind()
            if kind == "AND":
                self._next()
                operands.append(self._unary("AND"))
            elif kind in ("(", "NOT", "term", "phrase", "cmp"):
                operands.append(self._unary(None))
            else:
                break
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _unary(self, after: str | None) -> Node:
        negations = 0
        while self._peek_kind() == "NOT":
            self._next()
            negations += 1
            after = "NOT"
        node = self._primary(after)
        return Not(node) if negations % 2 else node

    def _primary(self, after: str | None) -> Node:
        token = self._peek()
        if token is None or token.kind in (")", "AND", "OR"):
            raise self._missing_operand(token, after)
        self._next()
        if token.kind == "(":
            return self._group()
        if token.kind == "cmp":
            return self._compare(token)
        return Term(token.text, quoted=token.kind == "phrase")

    def _missing_operand(self, token: _Token | None, after: str | None) -> BadRequest:
        if after is not None:
            return self._error(f"dangling operator '{after}'")
        if token is None:
            return self._error("unexpected end of expression")
        if token.kind == ")":
            return self._error("unbalanced parenthesis")
        return self._error(f"dangling operator '{token.kind}'")

    def _group(self) -> Node:
        kind = self._peek_kind()
        if kind is None:
            raise self._error("unbalanced parenthesis")
        if kind == ")":
            raise self._error("empty parentheses")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(f"parentheses nested deeper than {MAX_DEPTH}")
        node = self._or_expr(None)
        if self._peek_kind() != ")":
            raise self._error("unbalanced parenthesis")
        self._next()
        self.depth -= 1
        return node

    def _compare(self, token: _Token) -> Compare:
        text = token.text
        if not text and self._peek_kind() == "term":
            text = self._next().text
        number = whole_number(text)
        if number is None:
            got = f", got '{text}'" if text else ""
            raise self._error(f"expected a whole number after '{token.op}'{got}")
        return Compare(_OPS[token.op], number)
