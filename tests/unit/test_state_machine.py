"""The full transition table, and every other (state, actor, intent) is invalid."""

import itertools

import pytest

from claude_headspace.models import TaskState, TurnActor, TurnIntent
from claude_headspace.services.state_machine import (
    TRANSITIONS,
    is_valid_transition,
    next_state,
)

# The PRD's table, as written there: state, actor, intent -> new state.
DOCUMENTED = """
    idle            user   command      commanded
    commanded       agent  progress     processing
    processing      agent  progress     processing
    commanded       agent  question     awaiting_input
    processing      agent  question     awaiting_input
    commanded       agent  completion   complete
    processing      agent  completion   complete
    awaiting_input  agent  completion   complete
    commanded       agent  end_of_task  complete
    processing      agent  end_of_task  complete
    awaiting_input  agent  end_of_task  complete
    processing      user   answer       processing
    awaiting_input  user   answer       processing
"""
EXPECTED = {
    (TaskState(state), TurnActor(actor), TurnIntent(intent)): TaskState(target)
    for state, actor, intent, target in (line.split() for line in DOCUMENTED.strip().splitlines())
}
S, A, I = TaskState, TurnActor, TurnIntent  # noqa: E741  -- short names

ALL_MOVES = list(itertools.product(TaskState, TurnActor, TurnIntent))


def test_table_is_exactly_the_documented_one():
    assert len(EXPECTED) == 13
    assert TRANSITIONS == EXPECTED


def test_every_valid_transition_moves_to_its_target():
    def outcome(key):
        result = next_state(*key)
        return (
            result.valid,
            result.from_state,
            result.to_state,
            result.reason,
            is_valid_transition(*key),
        )

    assert {key: outcome(key) for key in EXPECTED} == {
        key: (True, key[0], target, None, True) for key, target in EXPECTED.items()
    }


def test_every_other_move_is_invalid_with_a_reason():
    """An invalid move leaves the state alone and says why; all 47 of them."""
    others = [m for m in ALL_MOVES if m not in EXPECTED]
    assert len(others) == 47

    def outcome(key):
        result = next_state(*key)
        return result.valid, result.to_state, bool(result.reason), is_valid_transition(*key)

    assert {key: outcome(key) for key in others} == {
        key: (False, key[0], True, False) for key in others
    }


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


@pytest.mark.parametrize(
    ("actor", "intent"),
    [(A.USER, i) for i in (I.PROGRESS, I.QUESTION, I.COMPLETION, I.END_OF_TASK)]
    + [(A.AGENT, i) for i in (I.COMMAND, I.ANSWER)],
)
def test_an_intent_the_actor_never_has_is_refused_as_such_in_every_state(actor, intent):
    for state in TaskState:
        reason = next_state(state, actor, intent).reason
        assert reason == f"a {actor.value} turn cannot have intent {intent.value!r}"


@pytest.mark.parametrize(
    ("state", "actor", "intent", "reason"),
    [
        (S.COMPLETE, A.USER, I.COMMAND, "user:command after the task is complete: complete "
         "is terminal; start a new task"),
        (S.PROCESSING, A.USER, I.COMMAND, "user:command while the task is processing: a new "
         "command starts a new task"),
        (S.IDLE, A.USER, I.ANSWER, "user:answer while the task is idle: there is no question "
         "to answer"),
        (S.IDLE, A.AGENT, I.PROGRESS, "agent:progress while the task is idle: the agent has "
         "not been given a command"),
        (S.AWAITING_INPUT, A.AGENT, I.QUESTION, "agent:question is not allowed while the "
         "task is awaiting_input"),
    ],
)  # fmt: skip
def test_each_kind_of_invalid_move_says_why(state, actor, intent, reason):
    assert next_state(state, actor, intent).reason == reason


def test_a_transition_result_is_a_value():
    result = next_state(S.IDLE, A.USER, I.COMMAND)
    assert {result: 1}[next_state(S.IDLE, A.USER, I.COMMAND)] == 1
    with pytest.raises(AttributeError):
        result.valid = False
