"""The seven models. Importing this package registers every table on ``db.metadata``."""

from .agent import Agent
from .event import Event, EventType
from .objective import Objective, ObjectiveHistory
from .project import Project, slugify
from .task import Task, TaskState
from .turn import Turn, TurnActor, TurnIntent

__all__ = [
    "Agent",
    "Event",
    "EventType",
    "Objective",
    "ObjectiveHistory",
    "Project",
    "Task",
    "TaskState",
    "Turn",
    "TurnActor",
    "TurnIntent",
    "slugify",
]
