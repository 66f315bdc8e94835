"""The CI recipes in docs/ci are valid workflows that run sessions the noxfile has."""

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "docs" / "ci").glob("*.yml"))


def nox_sessions() -> set[str]:
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d).startswith("nox.session") for d in node.decorator_list)
    }


def test_there_are_recipes_for_a_server_per_job_and_one_shared_server():
    assert [path.name for path in RECIPES] == [
        "shards-own-postgres.yml",
        "shards-shared-server.yml",
    ]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda path: path.name)
def test_a_recipe_is_a_workflow_whose_shards_cover_every_group(recipe):
    workflow = yaml.safe_load(recipe.read_text())
    assert workflow["name"]
    assert workflow[True]  # the triggers: YAML 1.1 reads the key `on` as True
    sessions = nox_sessions()
    for job in workflow["jobs"].values():
        assert job["runs-on"]
        assert job["steps"]
        commands = [step["run"] for step in job["steps"] if "run" in step]
        for command in commands:
            if command.startswith("nox "):
                named = re.findall(r"-s ((?:[a-z_]+ ?)+)", command)[0].split()
                assert set(named) <= sessions, command
        splits = [
            re.search(r"--splits (\d+) --group (\$\{\{ [a-z.]+ \}\}|\S+)", c) for c in commands
        ]
        for split in filter(None, splits):
            assert split.group(2) == "${{ matrix.group }}"
            assert job["strategy"]["matrix"]["group"] == list(range(1, int(split.group(1)) + 1))
