"""Our mutation operators make exactly the mutants they promise (their examples)."""

from pathlib import Path

import pytest
from cosmic_ray import plugins
from cosmic_ray.mutating import MutationVisitor

from mutation.operators import KEPT_REPLACEMENTS, OPERATORS, excluded_operators


@pytest.mark.parametrize(
    ("operator", "example"),
    [(op, example) for op in OPERATORS.values() for example in op.examples()],
    ids=lambda value: getattr(value, "__name__", None) or repr(value.pre_mutation_code),
)
def test_each_example_mutates_as_written(operator, example):
    mutated = MutationVisitor.mutate_code(example.pre_mutation_code, operator(), example.occurrence)
    if example.pre_mutation_code == example.post_mutation_code:
        assert mutated is None  # nothing to mutate there
    else:
        assert mutated == example.post_mutation_code


def test_the_mutants_of_a_real_module_all_compile():
    source = Path("packages/pytest-flask-pgdb/src/pytest_flask_pgdb/reset/cleanup.py").read_text()
    for operator in OPERATORS.values():
        occurrence = 0
        while (mutated := MutationVisitor.mutate_code(source, operator(), occurrence)) is not None:
            compile(mutated, "cleanup.py", "exec")
            occurrence += 1
        assert occurrence > 0, operator


def test_every_kept_replacement_is_one_cosmic_ray_makes():
    """A renamed operator in a new Cosmic Ray would otherwise drop out of the run unseen."""
    names = set(plugins.operator_names())
    assert names >= KEPT_REPLACEMENTS
    excluded = set(excluded_operators(names))
    assert "core/VariableReplacer" in excluded
    assert "core/ReplaceBinaryOperator_Add_Mul" in excluded
    assert "core/ReplaceComparisonOperator_Eq_Lt" in excluded
    for kept in (*KEPT_REPLACEMENTS, "core/NumberReplacer", "core/AddNot"):
        assert kept not in excluded
    # Every binary and comparison operator keeps a replacement.
    for family in ("core/ReplaceBinaryOperator_", "core/ReplaceComparisonOperator_"):
        every = {n.split("_")[1] for n in names if n.startswith(family)}
        kept = {n.split("_")[1] for n in KEPT_REPLACEMENTS if n.startswith(family)}
        assert every == kept, family
