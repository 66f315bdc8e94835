"""Mutation operators Cosmic Ray lacks: the ones that delete what a statement does.

Cosmic Ray's core operators replace operators, constants and comparisons; they never
delete a statement, so a call whose effect no test checks (``SET lock_timeout``, a
``close()``) survives unseen. These three do, inside function bodies (a statement at
module or class level defines something: deleting it only makes the import fail):

- ``deletion/DeleteStatement``: a call or assignment statement becomes ``pass``;
- ``deletion/EmptyHandler``: an ``except`` clause's body becomes ``pass``;
- ``deletion/ReturnNone``: ``return <value>`` becomes ``return None``.

They are a Cosmic Ray operator provider (``OPERATORS``) that ``mutation/cosmic.py``
registers before handing over to Cosmic Ray's own command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import parso
from cosmic_ray.operators.operator import Example, Operator

Position = tuple[tuple[int, int], tuple[int, int]]
_FUNCTION_TYPES = ("funcdef", "async_funcdef", "lambdef")


def _pass(prefix: str) -> Any:
    """A ``pass`` keyword with the prefix (indentation) of what it replaces."""
    keyword = parso.parse("pass").get_first_leaf()
    keyword.prefix = prefix
    return keyword


def _in_function(node: Any) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in _FUNCTION_TYPES:
            return True
        if parent.type == "classdef":
            return False
        parent = parent.parent
    return False


class DeleteStatement(Operator):
    """A call or assignment statement in a function body replaced by ``pass``."""

    def mutation_positions(self, node: Any) -> Iterator[Position]:
        if node.type != "simple_stmt" or not _in_function(node):
            return
        for child in node.children:
            if _is_call_or_assignment(child):
                yield (child.start_pos, child.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        statements = [c for c in node.children if _is_call_or_assignment(c)]
        target = statements[index]
        node.children[node.children.index(target)] = _pass(target.get_first_leaf().prefix)
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (
            Example("def f():\n    g(1)\n", "def f():\n    pass\n"),
            Example("def f():\n    x = 1\n    x += 2\n", "def f():\n    x = 1\n    pass\n", 1),
            Example("x = g()\n", "x = g()\n"),  # module level: a definition, left
        )


def _is_call_or_assignment(node: Any) -> bool:
    if node.type == "expr_stmt":  # =, +=, annotated assignment
        return True
    if node.type in ("atom_expr", "power"):  # a call as a statement: f(x), obj.close()
        trailer = node.children[-1]
        return trailer.type == "trailer" and trailer.children[0].value == "("
    return False


class EmptyHandler(Operator):
    """The body of an ``except`` clause replaced by ``pass`` (the error is swallowed)."""

    def mutation_positions(self, node: Any) -> Iterator[Position]:
        if node.type != "try_stmt":
            return
        for clause, body in _handlers(node):
            if body.get_code().strip() not in ("pass", "..."):
                yield (clause.start_pos, body.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        handlers = [
            (clause, body)
            for clause, body in _handlers(node)
            if body.get_code().strip() not in ("pass", "...")
        ]
        _clause, body = handlers[index]
        if body.type != "suite":  # except E: one_line(); its newline stays
            body.children = [_pass(" "), *body.children[-1:]]
            return node
        indent = " " * body.children[1].start_pos[1]
        replacement = parso.parse(f"if 1:\n{indent}pass\n").children[0].children[-1]
        node.children[node.children.index(body)] = replacement
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (
            Example(
                "try:\n    f()\nexcept OSError:\n    log()\n    raise\n",
                "try:\n    f()\nexcept OSError:\n    pass\n",
            ),
            Example(
                "try:\n    f()\nexcept OSError: g()\n", "try:\n    f()\nexcept OSError: pass\n"
            ),
        )


def _handlers(node: Any) -> list[tuple[Any, Any]]:
    """(except clause, its body) pairs of a ``try`` statement (``except:`` included)."""
    children = node.children
    pairs = []
    for i, child in enumerate(children):
        is_clause = child.type == "except_clause" or getattr(child, "value", None) == "except"
        if is_clause and i + 2 < len(children):
            pairs.append((child, children[i + 2]))
    return pairs


class ReturnNone(Operator):
    """``return <value>`` replaced by ``return None``."""

    def mutation_positions(self, node: Any) -> Iterator[Position]:
        if node.type == "return_stmt" and len(node.children) == 2:
            value = node.children[1]
            if value.get_code().strip() != "None":
                yield (value.start_pos, value.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        value = node.children[1]
        none = parso.parse("None").get_first_leaf()
        none.prefix = value.get_first_leaf().prefix
        node.children[1] = none
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (
            Example("def f():\n    return x + 1\n", "def f():\n    return None\n"),
            Example("def f():\n    return None\n", "def f():\n    return None\n"),
        )


OPERATORS = {op.__name__: op for op in (DeleteStatement, EmptyHandler, ReturnNone)}


class Provider:
    """Cosmic Ray's operator-provider protocol: names, and the class by name."""

    def __iter__(self) -> Iterator[str]:
        return iter(OPERATORS)

    def __getitem__(self, name: str) -> type[Operator]:
        return OPERATORS[name]


# Cosmic Ray replaces each binary, comparison and unary operator by every other one
# (`path / "x"` alone made 11 mutants, all dying of the same TypeError): 40 % of the
# mutants, most of them saying nothing new. The run keeps one replacement per operator,
# the ones PIT and mutmut apply: arithmetic to its inverse, a comparison negated and its
# boundary moved, a unary operator removed.
KEPT_REPLACEMENTS = frozenset(
    {
        *(
            f"core/ReplaceBinaryOperator_{a}_{b}"
            for a, b in (
                ("Add", "Sub"),
                ("Sub", "Add"),
                ("Mul", "Div"),
                ("Div", "Mul"),
                ("FloorDiv", "Div"),
                ("Mod", "Mul"),
                ("Pow", "Mul"),
                ("LShift", "RShift"),
                ("RShift", "LShift"),
                ("BitOr", "BitAnd"),
                ("BitAnd", "BitOr"),
                ("BitXor", "BitAnd"),
            )
        ),
        *(
            f"core/ReplaceComparisonOperator_{a}_{b}"
            for a, b in (
                ("Eq", "NotEq"),
                ("NotEq", "Eq"),
                ("Lt", "GtE"),
                ("Lt", "LtE"),
                ("LtE", "Gt"),
                ("LtE", "Lt"),
                ("Gt", "LtE"),
                ("Gt", "GtE"),
                ("GtE", "Lt"),
                ("GtE", "Gt"),
                ("Is", "IsNot"),
                ("IsNot", "Is"),
            )
        ),
        "core/ReplaceUnaryOperator_Delete_Not",
        "core/ReplaceUnaryOperator_Delete_USub",
        "core/ReplaceUnaryOperator_Delete_Invert",
        "core/ReplaceUnaryOperator_USub_UAdd",
    }
)
_REPLACEMENT_FAMILIES = (
    "core/ReplaceBinaryOperator_",
    "core/ReplaceComparisonOperator_",
    "core/ReplaceUnaryOperator_",
)
# Operators that insert or swap variable names at random (the same source gives
# different mutants on every run): they say nothing about the tests.
_RANDOM = ("core/VariableReplacer", "core/VariableInserter")


def excluded_operators(names: Iterable[str]) -> list[str]:
    """Of Cosmic Ray's operator names, those the run does not apply."""
    return sorted(
        name
        for name in names
        if name in _RANDOM
        or (name.startswith(_REPLACEMENT_FAMILIES) and name not in KEPT_REPLACEMENTS)
    )
