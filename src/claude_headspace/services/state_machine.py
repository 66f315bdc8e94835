"""The task state machine: which turn moves a task from which state to which.

Pure logic keyed by ``(state, actor, intent)``; it never touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models.task import TaskState
from ..models.turn import TurnActor, TurnIntent

S, A, I = TaskState, TurnActor, TurnIntent  # noqa: E741  -- short names keep the table readable

OPEN = (S.COMMANDED, S.PROCESSING)  # a command given, no question pending
ACTIVE = (*OPEN, S.AWAITING_INPUT)  # every state of a task that is not complete

TRANSITIONS: dict[tuple[TaskState, TurnActor, TurnIntent], TaskState] = {
    # the user gives a command to an idle agent
    (S.IDLE, A.USER, I.COMMAND): S.COMMANDED,
    # the agent works, or asks; an answer (to a question, or unprompted) resumes work
    **{(state, A.AGENT, I.PROGRESS): S.PROCESSING for state in OPEN},
    **{(state, A.AGENT, I.QUESTION): S.AWAITING_INPUT for state in OPEN},
    **{(state, A.USER, I.ANSWER): S.PROCESSING for state in (S.PROCESSING, S.AWAITING_INPUT)},
    # the agent finishes from any active state
    **{(state, A.AGENT, I.COMPLETION): S.COMPLETE for state in ACTIVE},
    **{(state, A.AGENT, I.END_OF_TASK): S.COMPLETE for state in ACTIVE},
}

# The intents each actor may produce at all.
_ACTOR_INTENTS = {
    A.USER: {I.COMMAND, I.ANSWER},
    A.AGENT: {I.PROGRESS, I.QUESTION, I.COMPLETION, I.END_OF_TASK},
}


@dataclass(frozen=True)
class TransitionResult:
    valid: bool
    from_state: TaskState
    to_state: TaskState
    reason: str | None = None


def next_state(state: TaskState, actor: TurnActor, intent: TurnIntent) -> TransitionResult:
    """Where a turn takes a task; ``valid=False`` with a reason when it may not happen."""
    target = TRANSITIONS.get((state, actor, intent))
    if target is not None:
        return TransitionResult(True, state, target)
    return TransitionResult(False, state, state, _why_invalid(state, actor, intent))


def is_valid_transition(state: TaskState, actor: TurnActor, intent: TurnIntent) -> bool:
    return (state, actor, intent) in TRANSITIONS


def _why_invalid(state: TaskState, actor: TurnActor, intent: TurnIntent) -> str:
    move = f"{actor.value}:{intent.value}"
    if intent not in _ACTOR_INTENTS[actor]:
        return f"a {actor.value} turn cannot have intent {intent.value!r}"
    if state is S.COMPLETE:
        return f"{move} after the task is complete: complete is terminal; start a new task"
    if actor is A.USER and intent is I.COMMAND:
        return f"{move} while the task is {state.value}: a new command starts a new task"
    if actor is A.USER and intent is I.ANSWER:
        return f"{move} while the task is {state.value}: there is no question to answer"
    if state is S.IDLE:
        return f"{move} while the task is idle: the agent has not been given a command"
    return f"{move} is not allowed while the task is {state.value}"
