"""Intent detection: what a turn's text means (command, answer, question, ...).

Pure logic. Agent turns are judged on their last lines, with fenced code removed,
because a reply's closing lines say what the agent wants next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models.task import TaskState
from ..models.turn import TurnActor, TurnIntent

TAIL_LINES = 5

_CONFIRMATION = re.compile(
    r"^(y|yes|yep|yeah|sure|ok|okay|go|go ahead|proceed|continue|do it|sounds good|"
    r"lgtm|looks good|approved|please do|yes please)[\s.!]*$",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"(\bshould i\b|\bshall i\b|\bwould you like\b|\bdo you want\b|\blet me know\b|"
    r"\bwhich (one|option)\b|\bcan you confirm\b|\?\s*$)",
    re.IGNORECASE,
)
_BLOCKED = re.compile(
    r"(permission denied|\berror:|\bi need your (approval|permission|input)\b|\bi'm blocked\b)",
    re.IGNORECASE,
)
_COMPLETION = re.compile(
    r"(^done\.?$|\bi've (finished|completed)\b|\bi have (finished|completed)\b|"
    r"\ball tests pass(ed)?\b|\b\d+ passed\b|\btask (is )?complete\b|"
    r"\bsuccessfully (implemented|completed|fixed)\b)",
    re.IGNORECASE | re.MULTILINE,
)
_END_OF_TASK = re.compile(
    r"(\bhere'?s a summary of (what|the)\b|\bsummary of changes\b|\bto summari[sz]e\b|"
    r"\bin summary\b)",
    re.IGNORECASE,
)
_STILL_WORKING = re.compile(
    r"(\bnext,? i'?ll\b|\bnow i'?ll\b|\blet me (now )?(run|check|look|fix|try|update)\b|"
    r"\bi'?m going to\b|\bi will now\b|\bstill working\b)",
    re.IGNORECASE,
)
_FENCE = re.compile(r"```.*?(```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class IntentResult:
    intent: TurnIntent
    confidence: float
    reason: str


def detect_intent(text: str, actor: TurnActor, state: TaskState = TaskState.IDLE) -> IntentResult:
    """The intent of ``text`` said by ``actor`` while the task is in ``state``."""
    if actor is TurnActor.USER:
        return _user_intent(text, state)
    return _agent_intent(text)


def _user_intent(text: str, state: TaskState) -> IntentResult:
    if state is TaskState.AWAITING_INPUT:
        return IntentResult(TurnIntent.ANSWER, 0.95, "the agent is awaiting input")
    if state is TaskState.PROCESSING and _CONFIRMATION.match(text.strip()):
        return IntentResult(TurnIntent.ANSWER, 0.8, "a bare confirmation while processing")
    return IntentResult(TurnIntent.COMMAND, 0.9, "a new instruction")


def _agent_intent(text: str) -> IntentResult:
    without_code = _FENCE.sub("", text)
    lines = [line.strip() for line in without_code.splitlines() if line.strip()]
    tail = "\n".join(lines[-TAIL_LINES:])
    last = lines[-1] if lines else ""
    if _QUESTION.search(last):
        return IntentResult(TurnIntent.QUESTION, 0.9, "the reply ends with a question")
    if _BLOCKED.search(tail):
        return IntentResult(TurnIntent.QUESTION, 0.8, "the agent reports it is blocked")
    if _QUESTION.search(tail) and not _COMPLETION.search(tail):
        return IntentResult(TurnIntent.QUESTION, 0.7, "a question near the end")
    if _STILL_WORKING.search(tail):
        return IntentResult(TurnIntent.PROGRESS, 0.7, "the agent says it is still working")
    if _END_OF_TASK.search(tail) or (lines and _END_OF_TASK.search(lines[0])):
        return IntentResult(TurnIntent.END_OF_TASK, 0.85, "a wrap-up summary")
    if _COMPLETION.search(tail):
        return IntentResult(TurnIntent.COMPLETION, 0.85, "a completion signal")
    return IntentResult(TurnIntent.PROGRESS, 0.5, "no stronger signal: progress")
