"""Every cue the intent detector knows, each alone, with the intent and confidence it gives.

A cue deleted from a pattern, or a branch's confidence changed, fails here, and the
failure lists every cue that no longer gives what it should (one test per table of
cues: hundreds of one-line cases cost more in pytest than in the detector).
"""

import pytest

from claude_headspace.models import TaskState, TurnActor, TurnIntent
from claude_headspace.services.intent_detector import detect_intent

TAIL_LINES = 5  # the documented tail: an agent's last five lines say what it wants next

CONFIRMATIONS = [
    "y", "yes", "yep", "yeah", "sure", "ok", "okay", "go", "go ahead", "proceed", "continue",
    "do it", "sounds good", "lgtm", "looks good", "approved", "please do", "yes please",
]  # fmt: skip


def agent(text):
    result = detect_intent(text, TurnActor.AGENT, TaskState.PROCESSING)
    return result.intent, result.confidence


def user(text, state=TaskState.PROCESSING):
    result = detect_intent(text, TurnActor.USER, state)
    return result.intent, result.confidence


def misfits(judge, texts, expected):
    """The texts ``judge`` does not give ``expected`` for, with what it gave instead."""
    return {text: judge(text) for text in texts if judge(text) != expected}


def test_every_confirmation_while_processing_is_an_answer():
    texts = [w.upper() + end for w in CONFIRMATIONS for end in ["", ".", "!", " !!", "  "]]
    assert len(texts) == 90
    assert misfits(user, texts, (TurnIntent.ANSWER, 0.8)) == {}


def test_a_confirmation_word_inside_an_instruction_is_a_command():
    texts = [f"{word} and rename the module" for word in CONFIRMATIONS]
    assert misfits(user, texts, (TurnIntent.COMMAND, 0.9)) == {}


@pytest.mark.parametrize("state", [s for s in TaskState if s is not TaskState.PROCESSING])
def test_a_confirmation_in_any_other_state_is_not_the_processing_answer(state):
    result = detect_intent("yes", TurnActor.USER, state)
    expected = (
        (TurnIntent.ANSWER, 0.95)
        if state is TaskState.AWAITING_INPUT
        else (TurnIntent.COMMAND, 0.9)
    )
    assert (result.intent, result.confidence) == expected


def test_every_closing_question_cue():
    last_lines = [
        "Should I also update the docs",
        "Shall I open a pull request",
        "Would you like the old API kept",
        "Do you want a migration for it",
        "Let me know which name you prefer",
        "Which one fits your setup",
        "Which option do you prefer",
        "Can you confirm the port",
        "Is that right?",
        "Is that right?   ",
    ]
    texts = [f"I looked at the config loader.\n{last_line}" for last_line in last_lines]
    assert misfits(agent, texts, (TurnIntent.QUESTION, 0.9)) == {}


def test_every_blocked_cue():
    lines = [
        "Permission denied writing /etc/hosts.",
        "Error: the build cannot find libpq.",
        "I need your approval to delete the branch.",
        "I need your permission to push.",
        "I need your input on the schema.",
        "I'm blocked on the missing credentials.",
    ]
    texts = [f"{line}\nNothing else changed." for line in lines]
    assert misfits(agent, texts, (TurnIntent.QUESTION, 0.8)) == {}


def test_a_question_near_the_end_but_not_last():
    text = "Which option do you prefer, A or B\nBoth are described above."
    assert agent(text) == (TurnIntent.QUESTION, 0.7)


def test_a_question_near_the_end_of_a_completed_task_is_completion():
    text = "Should I keep the old flag\nAll tests pass."
    assert agent(text) == (TurnIntent.COMPLETION, 0.85)


def test_every_still_working_cue():
    lines = [
        "Next, I'll run the migrations.",
        "Next ill wire the route.",
        "Now I'll add the index.",
        "Let me run the tests.",
        "Let me now check the logs.",
        "Let me look at the schema.",
        "Let me fix the import.",
        "Let me try the other driver.",
        "Let me update the README.",
        "I'm going to split the module.",
        "Im going to rename it.",
        "I will now rebuild the cache.",
        "Still working on the parser.",
    ]
    texts = [f"All tests pass.\n{line}" for line in lines]
    assert misfits(agent, texts, (TurnIntent.PROGRESS, 0.7)) == {}


def test_every_wrap_up_cue():
    lines = [
        "Here's a summary of what changed:",
        "Heres a summary of the work:",
        "Summary of changes:",
        "To summarise: the loader is stricter.",
        "To summarize: the loader is stricter.",
        "In summary, the loader is stricter.",
    ]
    texts = [f"{line}\n- config.py: ranges checked" for line in lines]
    assert misfits(agent, texts, (TurnIntent.END_OF_TASK, 0.85)) == {}


def test_a_wrap_up_heading_counts_on_the_first_line_of_a_long_reply():
    body = "\n".join(f"- change {n}" for n in range(TAIL_LINES + 3))
    assert agent(f"Summary of changes:\n{body}") == (TurnIntent.END_OF_TASK, 0.85)
    assert agent(f"Intro line.\nSummary of changes:\n{body}") == (TurnIntent.PROGRESS, 0.5)


def test_every_completion_cue():
    lines = [
        "Done",
        "done.",
        "I've finished the refactor.",
        "I've completed the refactor.",
        "I have finished the refactor.",
        "I have completed the refactor.",
        "All tests pass.",
        "All tests passed.",
        "12 passed in 0.4s",
        "Task complete.",
        "The task is complete.",
        "Successfully implemented the endpoint.",
        "Successfully completed the migration.",
        "Successfully fixed the flaky test.",
    ]
    texts = [f"Changed two files.\n{line}" for line in lines]
    assert misfits(agent, texts, (TurnIntent.COMPLETION, 0.85)) == {}


def test_done_must_be_the_whole_line():
    assert agent("Changed two files.\nDone with the first part, more to do") == (
        TurnIntent.PROGRESS,
        0.5,
    )


def test_plain_text_is_progress_at_half_confidence():
    assert agent("Reading the config loader.") == (TurnIntent.PROGRESS, 0.5)
    assert agent("") == (TurnIntent.PROGRESS, 0.5)


def test_cues_count_only_in_the_last_lines():
    filler = [f"step {n}" for n in range(TAIL_LINES - 1)]
    inside = "\n".join(["All tests pass.", *filler])  # the 5th line from the end
    outside = "\n".join(["All tests pass.", *filler, "step x"])  # the 6th
    assert agent(inside) == (TurnIntent.COMPLETION, 0.85)
    assert agent(outside) == (TurnIntent.PROGRESS, 0.5)


def test_cues_inside_code_fences_do_not_count_even_unclosed():
    assert agent("Ran it:\n```\nAll tests pass\nShould I?\n```\nReading on.") == (
        TurnIntent.PROGRESS,
        0.5,
    )
    assert agent("Reading on.\n```\nShould I?") == (TurnIntent.PROGRESS, 0.5)


def test_a_user_turn_is_never_judged_by_agent_cues():
    result = detect_intent("Should I?", TurnActor.USER, TaskState.IDLE)
    assert (result.intent, result.confidence) == (TurnIntent.COMMAND, 0.9)


def test_a_result_is_a_value():
    """Equal results are interchangeable (usable as keys) and nobody edits one in place."""
    first = detect_intent("Done.", TurnActor.AGENT)
    assert {first: 1}[detect_intent("Done.", TurnActor.AGENT)] == 1
    with pytest.raises(AttributeError):
        first.confidence = 1.0
