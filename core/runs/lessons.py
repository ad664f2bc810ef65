"""Lessons a teacher hands out: a title, a few lines of instruction, the settings everyone starts from, which of
them learners may change (the rest stay as the lesson says), and an optional challenge: at most P parameters, at
most E epochs, at most N training images.

    runs/lessons/<lesson id>.json   one lesson, replaced whole on every change
    runs/classroom.json             which lesson Home shows ("lesson"; core.runs.store)

Like the runs beside them, nothing here trusts the disk: a lesson file that is not what this app writes is listed
as damaged, with the reason, and can be deleted. Only the teacher may create, change or delete a lesson; the pages
check that on every click before they call this module.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import (
    MAX_EPOCHS,
    SETTINGS,
    TRAIN_IMAGES,
    ConfigError,
    TrainConfig,
    count_parameters,
    is_int,
    is_lesson_id,
    training_images,
)
from core.runs.atomic_files import explain_os_error, write_json_atomic
from core.runs.classroom import clean_name, counts_for_the_class, placeholder_name
from core.runs.files import Damaged, is_time, read_json

FOLDER = "lessons"
MAX_TITLE_CHARS = 80
MAX_TEXT_CHARS = 1_500
MOST_PARAMETERS = 100_000_000
CHANGEABLE = tuple(setting.name for setting in SETTINGS)  # what a lesson may leave to its learners


class LessonError(ValueError):
    """A lesson cannot be made, read, saved or deleted; the message says why, in words a teacher can act on."""


def clean_text(text) -> str:
    """A lesson's instructions as stored and shown: lines cleaned as a name is (printable, single spaces), at most
    MAX_TEXT_CHARS in all."""
    if not isinstance(text, str):
        return ""
    lines = [clean_name(line, most=MAX_TEXT_CHARS) for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")[:MAX_TEXT_CHARS].strip()


@dataclass(frozen=True)
class Challenge:
    """The most a run may use and still count under the lesson; None for no limit."""

    parameters: int | None = None
    epochs: int | None = None
    images: int | None = None

    LIMITS = {"parameters": (1, MOST_PARAMETERS), "epochs": (1, MAX_EPOCHS), "images": (100, TRAIN_IMAGES)}
    WORDS = {"parameters": "parameters", "epochs": "epochs", "images": "training images"}

    def __post_init__(self) -> None:
        for name, (low, high) in self.LIMITS.items():
            value = getattr(self, name)
            if value is not None and not (is_int(value) and low <= value <= high):
                raise LessonError(f"The challenge's {name} must be a whole number from {low:,} to {high:,} or none.")

    @property
    def any(self) -> bool:
        return any(getattr(self, name) is not None for name in self.LIMITS)

    def rules(self) -> list[str]:
        """The limits in words: ["at most 50,000 parameters", "at most 5 epochs"]."""
        return [
            f"at most {value:,} {self.WORDS[name]}"
            for name in self.LIMITS
            if (value := getattr(self, name)) is not None
        ]

    def broken_by(self, config: TrainConfig) -> list[str]:
        """What of `config` goes past a limit, in words ("669,706 parameters, over 50,000"); [] if it keeps to all."""
        used = {
            "parameters": count_parameters(config),
            "epochs": config.epochs,
            "images": training_images(config),
        }
        return [
            f"{used[name]:,} {self.WORDS[name]}, over {limit:,}"
            for name in self.LIMITS
            if (limit := getattr(self, name)) is not None and used[name] > limit
        ]


@dataclass(frozen=True)
class Lesson:
    """One lesson. `settings` is where everyone starts; `changeable` names the TrainConfig fields learners may change."""

    lesson_id: str
    title: str
    text: str
    settings: TrainConfig
    changeable: frozenset[str]
    challenge: Challenge
    created: float

    def __post_init__(self) -> None:
        if not is_lesson_id(self.lesson_id):
            raise LessonError("A lesson id is 8 hexadecimal digits.")
        if not self.title or clean_name(self.title, most=MAX_TITLE_CHARS) != self.title:
            raise LessonError(f"A lesson needs a title: printable, at most {MAX_TITLE_CHARS} characters.")
        if clean_text(self.text) != self.text:
            raise LessonError(f"A lesson's text is printable lines, at most {MAX_TEXT_CHARS:,} characters.")
        unknown = set(self.changeable) - set(CHANGEABLE)
        if unknown:
            raise LessonError(f"No such setting: {', '.join(sorted(unknown))}.")
        if not is_time(self.created):
            raise LessonError("A lesson's time must be a time between 1970 and 2200 in seconds.")

    @property
    def fixed(self) -> list[str]:
        """The settings learners see but cannot change, in the form's order."""
        return [name for name in CHANGEABLE if name not in self.changeable]

    def apply(self, config: TrainConfig) -> TrainConfig:
        """`config` with every fixed setting put back to the lesson's: whatever a page sends, those stay."""
        return config.replace(**{name: getattr(self.settings, name) for name in self.fixed})

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "text": self.text,
            "settings": self.settings.to_dict(),
            "changeable": [name for name in CHANGEABLE if name in self.changeable],
            "challenge": {name: getattr(self.challenge, name) for name in Challenge.LIMITS},
            "created": self.created,
        }

    @classmethod
    def from_dict(cls, lesson_id: str, data) -> Lesson:
        """The lesson a file holds; LessonError saying what is wrong when it is not what this app writes."""
        if not isinstance(data, dict):
            raise LessonError("the file holds no lesson")
        settings, changeable, challenge = data.get("settings"), data.get("changeable"), data.get("challenge")
        if not isinstance(data.get("title"), str) or not isinstance(data.get("text"), str):
            raise LessonError("its title or its text is not text")
        if not isinstance(settings, dict):
            raise LessonError("its settings are missing")
        if not isinstance(changeable, list) or not all(isinstance(name, str) for name in changeable):
            raise LessonError("its list of changeable settings is not a list of names")
        if not isinstance(challenge, dict) or set(challenge) - set(Challenge.LIMITS):
            raise LessonError("its challenge is not parameters, epochs and images")
        try:
            config = TrainConfig.from_dict(settings)
        except ConfigError as error:
            raise LessonError(f"its settings: {error.message.rstrip('.')}") from None
        except (TypeError, ValueError) as error:
            raise LessonError(f"its settings: {error}") from None
        return cls(
            lesson_id=lesson_id,
            title=data["title"],
            text=data["text"],
            settings=config,
            changeable=frozenset(changeable),
            challenge=Challenge(**challenge),
            created=data.get("created"),
        )


@dataclass(frozen=True)
class DamagedLesson:
    """A lesson file that cannot be read as a lesson: listed with the reason, so the teacher can delete it."""

    lesson_id: str
    problem: str


class LessonBook:
    """The lessons of one run store, one file each under `<store>/lessons/`."""

    def __init__(self, store_root: Path | str):
        self.folder = Path(store_root) / FOLDER

    def path(self, lesson_id: str) -> Path:
        if not is_lesson_id(lesson_id):
            raise LessonError(f"{str(lesson_id)[:40]!r} is not a lesson id.")
        return self.folder / f"{lesson_id}.json"

    def create(
        self, title: str, text: str, settings: TrainConfig, changeable, challenge: Challenge = Challenge()
    ) -> Lesson:
        """A new lesson, saved; LessonError (nothing saved) if any part of it is not allowed, or the disk refuses.
        The title and text are cleaned as typed text is (printable; the title on one line)."""
        return self._save_cleaned(secrets.token_hex(4), time.time(), title, text, settings, changeable, challenge)

    def change(
        self, lesson: Lesson, title: str, text: str, settings: TrainConfig, changeable, challenge: Challenge
    ) -> Lesson:
        """`lesson` with every part replaced, saved under its id; LessonError as for `create`."""
        return self._save_cleaned(lesson.lesson_id, lesson.created, title, text, settings, changeable, challenge)

    def _save_cleaned(self, lesson_id, created, title, text, settings, changeable, challenge) -> Lesson:
        lesson = Lesson(
            lesson_id=lesson_id,
            title=clean_name(title, most=MAX_TITLE_CHARS),
            text=clean_text(text),
            settings=settings,
            changeable=frozenset(changeable),
            challenge=challenge,
            created=created,
        )
        self.save(lesson)
        return lesson

    def save(self, lesson: Lesson) -> None:
        """Write the lesson whole (a new one, or a change to one): the old file or the new, never a torn one."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.path(lesson.lesson_id), lesson.to_dict())
        except OSError as error:
            raise LessonError(
                f"Could not save the lesson: {explain_os_error(error)}; nothing already saved was changed."
            ) from None

    def get(self, lesson_id: str) -> Lesson:
        """The lesson; LessonError if there is none by that id or its file is damaged."""
        path = self.path(lesson_id)
        try:
            data = read_json(self.folder, path.name, required=False)
        except Damaged as damage:
            raise LessonError(f"The lesson {lesson_id} is damaged ({damage}).") from None
        if data is None:
            raise LessonError(f"There is no lesson {lesson_id} (it may have been deleted).")
        try:
            return Lesson.from_dict(lesson_id, data)
        except LessonError as error:
            raise LessonError(f"The lesson {lesson_id} is damaged ({error}).") from None

    def all(self) -> tuple[list[Lesson], list[DamagedLesson]]:
        """Every lesson, oldest first, and the files that are not lessons any more."""
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return [], []
        except OSError as error:
            raise LessonError(f"Cannot read the lessons in {self.folder}: {explain_os_error(error)}.") from None
        lessons, damaged = [], []
        for name in names:
            lesson_id = name.removesuffix(".json")
            if not name.endswith(".json") or not is_lesson_id(lesson_id):
                continue
            try:
                lessons.append(self.get(lesson_id))
            except LessonError as error:
                damaged.append(DamagedLesson(lesson_id, str(error)))
        return sorted(lessons, key=lambda lesson: lesson.created), damaged

    def delete(self, lesson_id: str) -> None:
        try:
            self.path(lesson_id).unlink()
        except FileNotFoundError:
            raise LessonError(f"There is no lesson {lesson_id} (it may have been deleted already).") from None
        except OSError as error:
            raise LessonError(f"Could not delete the lesson: {explain_os_error(error)}.") from None


@dataclass(frozen=True)
class LessonEntry:
    """One line of a lesson's ranking: a person's best run under the lesson, and what of the challenge it breaks."""

    owner: str
    name: str
    test_accuracy: float
    network: str
    parameters: int
    run_id: str
    broken: tuple[str, ...]


def lesson_leaderboard(runs, lesson: Lesson, names=None) -> list[LessonEntry]:
    """Each person's best held-out test accuracy among their runs started under `lesson`.

    A run that keeps to the challenge beats any that breaks it: each person is shown by their best run within the
    challenge, or, when every run of theirs breaks it, by their best one, marked with what it breaks; those come
    after everyone within the challenge. Imported models, runs without an owner or without results are left out.
    """
    names = names or {}
    best: dict[str, tuple] = {}
    for run in runs:
        if run.lesson != lesson.lesson_id or not counts_for_the_class(run):
            continue
        broken = tuple(lesson.challenge.broken_by(run.config))
        rank = (not broken, run.metrics.test_accuracy)
        if run.owner not in best or rank > best[run.owner][0]:
            best[run.owner] = (rank, run, broken)
    board = [
        LessonEntry(
            owner=owner,
            name=names.get(owner) or run.owner_name or placeholder_name(owner),
            test_accuracy=run.metrics.test_accuracy,
            network=run.config.shape_label(),
            parameters=count_parameters(run.config),
            run_id=run.run_id,
            broken=broken,
        )
        for owner, (_, run, broken) in best.items()
    ]
    return sorted(board, key=lambda entry: (bool(entry.broken), -entry.test_accuracy, entry.name))
