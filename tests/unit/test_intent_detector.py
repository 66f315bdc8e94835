"""Intent detection: each pattern family, code fences ignored, confidence."""

import pytest

from claude_headspace.models import TaskState, TurnActor, TurnIntent
from claude_headspace.services.intent_detector import detect_intent

USER, AGENT = TurnActor.USER, TurnActor.AGENT


def agent(text):
    return detect_intent(text, AGENT, TaskState.PROCESSING)


@pytest.mark.parametrize("state", list(TaskState))
def test_user_text_while_awaiting_input_is_an_answer_only_then(state):
    result = detect_intent("use the second option", USER, state)
    expected = TurnIntent.ANSWER if state is TaskState.AWAITING_INPUT else TurnIntent.COMMAND
    assert result.intent is expected


@pytest.mark.parametrize("text", ["yes", "OK", "go ahead", "lgtm", "Sounds good!", "yes please."])
def test_bare_confirmation_while_processing_is_an_answer(text):
    assert detect_intent(text, USER, TaskState.PROCESSING).intent is TurnIntent.ANSWER


@pytest.mark.parametrize("text", ["yes, and also add logging", "ok now refactor the config"])
def test_confirmation_with_an_instruction_is_a_command(text):
    assert detect_intent(text, USER, TaskState.PROCESSING).intent is TurnIntent.COMMAND


def test_confirmation_while_idle_is_a_command():
    assert detect_intent("yes", USER, TaskState.IDLE).intent is TurnIntent.COMMAND


@pytest.mark.parametrize(
    "text",
    [
        "I looked at the parser.\nShould I also update the tests?",
        "Two options exist.\nWould you like me to pick the faster one",
        "The migration is ready. Let me know if the column name works for you.",
        "Which one do you prefer: A or B?",
    ],
)
def test_closing_questions(text):
    assert agent(text).intent is TurnIntent.QUESTION


@pytest.mark.parametrize(
    "text",
    ["Running the script failed.\nPermission denied", "Error: cannot open config.yaml"],
)
def test_blocked_signals_are_questions(text):
    assert agent(text).intent is TurnIntent.QUESTION


@pytest.mark.parametrize(
    "text",
    [
        "Done.",
        "I've finished the refactor.",
        "Ran the suite: all tests pass.",
        "pytest: 42 passed in 1.2s",
    ],
)
def test_completion_signals(text):
    assert agent(text).intent is TurnIntent.COMPLETION


def test_wrap_up_summary_is_end_of_task():
    text = "Here's a summary of what I changed:\n- config loader\n- health route"
    assert agent(text).intent is TurnIntent.END_OF_TASK


def test_still_working_blocks_completion():
    assert agent("3 passed. Next I'll fix the remaining failure.").intent is TurnIntent.PROGRESS


def test_plain_text_is_progress_with_low_confidence():
    result = agent("Reading the models module to understand the relationships.")
    assert result.intent is TurnIntent.PROGRESS
    assert result.confidence < agent("Done.").confidence


def test_code_fences_are_ignored():
    text = "Updated the handler.\n```python\nif ok:\n    ask('should I?')\n```\nDone."
    assert agent(text).intent is TurnIntent.COMPLETION
    unterminated = "Here is the change:\n```\nError: raised when input is empty\n"
    assert agent(unterminated).intent is TurnIntent.PROGRESS


def test_only_the_last_lines_count():
    early_question = "Should I start?\n" + "\n".join(f"step {n} done" for n in range(10))
    assert agent(early_question).intent is TurnIntent.PROGRESS


def test_confidence_is_a_probability():
    for text in ["Done.", "Should I?", "working", "Here's a summary of what I did"]:
        assert 0.0 < agent(text).confidence <= 1.0
