"""The full transition table, and every other (state, actor, intent) is invalid."""

import itertools

import pytest

from claude_headspace.models import TaskState, TurnActor, TurnIntent
from claude_headspace.services.state_machine import (
    TRANSITIONS,
    is_valid_transition,
    next_state,
)

S, A, I = TaskState, TurnActor, TurnIntent  # noqa: E741  -- short names, readable table

EXPECTED = {
    (S.IDLE, A.USER, I.COMMAND): S.COMMANDED,
    (S.COMMANDED, A.AGENT, I.PROGRESS): S.PROCESSING,
    (S.PROCESSING, A.AGENT, I.PROGRESS): S.PROCESSING,
    (S.COMMANDED, A.AGENT, I.QUESTION): S.AWAITING_INPUT,
    (S.PROCESSING, A.AGENT, I.QUESTION): S.AWAITING_INPUT,
    (S.COMMANDED, A.AGENT, I.COMPLETION): S.COMPLETE,
    (S.PROCESSING, A.AGENT, I.COMPLETION): S.COMPLETE,
    (S.AWAITING_INPUT, A.AGENT, I.COMPLETION): S.COMPLETE,
    (S.COMMANDED, A.AGENT, I.END_OF_TASK): S.COMPLETE,
    (S.PROCESSING, A.AGENT, I.END_OF_TASK): S.COMPLETE,
    (S.AWAITING_INPUT, A.AGENT, I.END_OF_TASK): S.COMPLETE,
    (S.PROCESSING, A.USER, I.ANSWER): S.PROCESSING,
    (S.AWAITING_INPUT, A.USER, I.ANSWER): S.PROCESSING,
}

ALL_MOVES = list(itertools.product(TaskState, TurnActor, TurnIntent))


def test_table_is_exactly_the_documented_one():
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("key", "target"), EXPECTED.items(), ids=lambda v: str(v))
def test_valid_transition(key, target):
    result = next_state(*key)
    assert result.valid
    assert (result.from_state, result.to_state, result.reason) == (key[0], target, None)
    assert is_valid_transition(*key)


@pytest.mark.parametrize("key", [m for m in ALL_MOVES if m not in EXPECTED])
def test_every_other_move_is_invalid_with_a_reason(key):
    result = next_state(*key)
    assert not result.valid
    assert result.to_state is key[0]  # an invalid move leaves the state alone
    assert result.reason
    assert not is_valid_transition(*key)


def test_complete_is_terminal():
    for actor, intent in itertools.product(TurnActor, TurnIntent):
        assert not next_state(S.COMPLETE, actor, intent).valid


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ((S.AWAITING_INPUT, A.USER, I.COMMAND), "a new command starts a new task"),
        ((S.COMPLETE, A.AGENT, I.PROGRESS), "complete is terminal"),
        ((S.IDLE, A.USER, I.ANSWER), "there is no question to answer"),
        ((S.IDLE, A.AGENT, I.PROGRESS), "has not been given a command"),
        ((S.PROCESSING, A.USER, I.QUESTION), "a user turn cannot have intent 'question'"),
        ((S.PROCESSING, A.AGENT, I.COMMAND), "agent turn cannot have intent 'command'"),
    ],
)
def test_reasons_say_why(key, fragment):
    assert fragment in next_state(*key).reason


def test_a_whole_task_walks_to_complete():
    state = S.IDLE
    for actor, intent in [
        (A.USER, I.COMMAND),
        (A.AGENT, I.PROGRESS),
        (A.AGENT, I.QUESTION),
        (A.USER, I.ANSWER),
        (A.AGENT, I.PROGRESS),
        (A.AGENT, I.COMPLETION),
    ]:
        result = next_state(state, actor, intent)
        assert result.valid, result.reason
        state = result.to_state
    assert state is S.COMPLETE
