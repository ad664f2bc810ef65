"""A class on one server: who owns a run, who may change it, who the teacher is, and each person's best.

Everyone can look at every run, compare it and draw with it; only its owner, or the teacher, can stop,
relabel or delete it. An owner is kept in a run's status.json as a hash, never as the secret it comes from:

- Without any set-up, a person is a browser: a random token that the browser keeps (a cookie) and sends
  with every visit. The token proves who you are, so only its SHA-256 is stored, and it never appears in
  an address people share.
- With Streamlit's `st.login` configured, a person is their signed-in account.

The teacher is whoever signs in with the teacher password (that browser stays the teacher's until it leaves
teacher mode or the password changes), or signs in with an account listed as a teacher's; both come from the
`[classroom]` table of `.streamlit/secrets.toml` (see `ClassroomSettings`).
Runs that have no owner (trained before owners existed, or from the command line) can be changed by
anyone while no teacher is configured, and only by the teacher once one is.

Plain Python: the pages read the browser, the secrets and the signed-in user, and pass them in here.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from core.config import is_int, is_sha256
from core.runs.states import IMPORTED

MAX_NAME_CHARS = 40
MOST_TRAININGS_PER_PERSON = 100
# What a browser makes (tiny JavaScript in pages/ui/identity.py): 24 random bytes in URL-safe base64.
_BROWSER_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")


class ClassroomConfigError(ValueError):
    """The `[classroom]` table of secrets.toml is not what this app reads; the message says what to write."""


def is_owner(value) -> bool:
    """Whether `value` is an owner as status.json stores it: 64 lowercase hex digits (a SHA-256)."""
    return is_sha256(value)


def is_browser_token(value) -> bool:
    """Whether `value` is a token a browser of this app could have made (anything else is ignored)."""
    return isinstance(value, str) and _BROWSER_TOKEN.fullmatch(value) is not None


def browser_owner(token: str) -> str:
    """The owner for a browser's token: its SHA-256, so status.json never holds the token itself."""
    if not is_browser_token(token):
        raise ValueError("a browser token is 22 to 64 letters, digits, '-' or '_'")
    return hashlib.sha256(b"browser:" + token.encode()).hexdigest()


def account_owner(account: str) -> str:
    """The owner for a signed-in account (its e-mail address, or the provider's subject id)."""
    account = account.strip().lower()
    if not account:
        raise ValueError("an account needs an e-mail address or a subject id")
    return hashlib.sha256(b"account:" + account.encode()).hexdigest()


def clean_name(text, most: int = MAX_NAME_CHARS) -> str:
    """A display name (or a run's label) as stored and shown: printable, single spaces, at most `most` characters.

    Control and formatting characters (newlines, right-to-left overrides) are dropped; "" if nothing is left.
    """
    if not isinstance(text, str):
        return ""
    kept = "".join(ch if unicodedata.category(ch)[0] not in "CZ" or ch == " " else " " for ch in text)
    return " ".join(kept.split())[:most].strip()


def is_clean_name(value) -> bool:
    return isinstance(value, str) and clean_name(value) == value


def placeholder_name(owner: str | None) -> str:
    """What a person is called until they choose a name: "Learner 3f2a" (the start of their owner hash)."""
    return f"Learner {owner[:4]}" if owner else "Nobody"


@dataclass(frozen=True)
class ClassroomSettings:
    """The classroom part of `.streamlit/secrets.toml`, checked.

        [classroom]
        teacher_password = "a long phrase"          # a browser that signs in with it is the teacher's
        teachers = ["teacher@school.example"]        # signed-in accounts (with [auth]) that are the teacher
        trainings_per_person = 2                     # running or waiting at once; the teacher has no limit

    Args:
        teacher_password: the teacher's password; None for none.
        teachers: the teachers' accounts (e-mail addresses), compared without regard to case.
        login: whether `[auth]` is configured, so that people sign in (st.login) instead of being their browser.
        trainings_per_person: each person's share of the queue (1 to MOST_TRAININGS_PER_PERSON).
    """

    teacher_password: str | None = None
    teachers: frozenset[str] = frozenset()
    login: bool = False
    trainings_per_person: int = 2

    @property
    def has_teacher(self) -> bool:
        return bool(self.teacher_password) or bool(self.teachers)

    @property
    def has_class(self) -> bool:
        """Whether this server is set up for a class (a teacher, or sign-in): each person then has their own
        drawings, not one folder for everyone."""
        return self.has_teacher or self.login

    @classmethod
    def from_secrets(cls, secrets: Mapping) -> ClassroomSettings:
        """Read the settings from the parsed secrets (a mapping; {} when there is no secrets file)."""
        table = secrets.get("classroom", {})
        if not isinstance(table, Mapping):
            raise ClassroomConfigError("[classroom] in secrets.toml must be a table (a [classroom] heading).")
        password = table.get("teacher_password")
        if password is not None and (not isinstance(password, str) or len(password) < 8):
            raise ClassroomConfigError(
                "teacher_password in secrets.toml must be text of at least 8 characters "
                f"(got {'text of ' + str(len(password)) + ' characters' if isinstance(password, str) else 'no text'})."
            )
        teachers = table.get("teachers", [])
        if isinstance(teachers, str):
            teachers = [teachers]
        if not isinstance(teachers, (list, tuple)) or not all(isinstance(t, str) and "@" in t for t in teachers):
            raise ClassroomConfigError(
                'teachers in secrets.toml must be a list of e-mail addresses, like ["teacher@school.example"].'
            )
        share = table.get("trainings_per_person", 2)
        if not is_int(share) or not 1 <= share <= MOST_TRAININGS_PER_PERSON:
            raise ClassroomConfigError(
                f"trainings_per_person in secrets.toml must be a whole number from 1 to {MOST_TRAININGS_PER_PERSON} "
                f"(got {str(share)[:20]!r})."
            )
        auth = secrets.get("auth")
        return cls(
            teacher_password=password or None,
            teachers=frozenset(t.strip().lower() for t in teachers),
            login=isinstance(auth, Mapping) and bool(auth),
            trainings_per_person=share,
        )

    def password_matches(self, attempt: str) -> bool:
        """Whether `attempt` is the teacher password (compared in constant time); False when there is none."""
        if not self.teacher_password or not isinstance(attempt, str):
            return False
        return hmac.compare_digest(attempt.encode(), self.teacher_password.encode())

    def is_teacher_account(self, email: str | None, verified: bool) -> bool:
        """Whether a signed-in account is a teacher's: listed in `teachers`, and its e-mail address verified by the
        sign-in provider (an unverified claim is anyone's to make)."""
        return verified is True and isinstance(email, str) and email.strip().lower() in self.teachers

    def teacher_mark(self, owner: str) -> str | None:
        """What the store keeps for a browser that signed in with the teacher password, so it stays the teacher's
        across reloads until the password changes: the password stretched with scrypt, salted with the owner. Slow
        on purpose (someone who reads the store's classroom.json must pay that for each guess of the password);
        this server works it out once per browser."""
        if not self.teacher_password:
            return None
        return _stretched(self.teacher_password, owner)

    def is_teacher_mark(self, owner: str | None, mark: str | None) -> bool:
        expected = self.teacher_mark(owner) if owner else None
        return bool(expected and isinstance(mark, str) and hmac.compare_digest(expected, mark))


@functools.lru_cache(maxsize=4096)
def _stretched(password: str, owner: str) -> str:
    salt = b"mnist-trainer teacher mark:" + owner.encode()
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32).hex()


class GuessThrottle:
    """How often the teacher password may be tried from one place (a client's address): a few wrong guesses at
    once, then one guess judged per wait, the wait doubling with each further wrong guess, up to `most_wait`
    seconds. A right guess forgets the place. Thread-safe: one per server, shared by its sessions.

    Example:
        wait = throttle.wait(place)          # 0: judge this guess now
        throttle.failed(place)               # it was wrong
    """

    def __init__(
        self,
        free: int = 3,
        first_wait: float = 2.0,
        most_wait: float = 300.0,
        places: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free, self.first_wait, self.most_wait, self.places, self.clock = free, first_wait, most_wait, places, clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # place: (wrong guesses in a row, when the next is judged)

    def wait(self, place: str) -> float:
        """Seconds before a guess from `place` is judged; 0 for now."""
        with self._lock:
            _, judged_from = self._failures.get(place, (0, 0.0))
            return max(0.0, judged_from - self.clock())

    def failed(self, place: str) -> None:
        with self._lock:
            wrong = self._failures.pop(place, (0, 0.0))[0] + 1
            over = wrong - self.free
            wait = 0.0 if over < 0 else min(self.first_wait * 2**over, self.most_wait)
            self._failures[place] = (wrong, self.clock() + wait)
            while len(self._failures) > self.places:  # the places heard from longest ago go first
                del self._failures[next(iter(self._failures))]

    def succeeded(self, place: str) -> None:
        with self._lock:
            self._failures.pop(place, None)


@dataclass(frozen=True)
class Person:
    """Who is looking at the page.

    Args:
        owner: their owner hash (see `browser_owner`, `account_owner`); None while they cannot own runs (a class
            that signs in, and they have not).
        name: how others see them (their chosen display name, or a placeholder).
        teacher: whether they may change every run.
    """

    owner: str | None
    name: str
    teacher: bool = False

    @property
    def can_train(self) -> bool:
        return self.owner is not None


def may_change(person: Person, run_owner: str | None, settings: ClassroomSettings) -> bool:
    """Whether `person` may stop, relabel or delete a run owned by `run_owner`."""
    if person.teacher:
        return True
    if run_owner is None:  # trained before owners existed, or from the command line
        return not settings.has_teacher
    return person.owner is not None and hmac.compare_digest(person.owner, run_owner)


def refusal(action: str, owner_name: str, settings: ClassroomSettings) -> str:
    """Why a person may not `action` ("stop", "relabel", "delete") a run: one sentence for a help text or warning."""
    if not owner_name:
        return f"Only the teacher can {action} runs that belong to nobody (from before owners, or the command line)."
    return f"Only {owner_name}{' or the teacher' if settings.has_teacher else ''} can {action} this run."


@dataclass(frozen=True)
class BestOfPerson:
    """One line of the class view: a person's best run so far."""

    owner: str
    name: str
    test_accuracy: float
    network: str
    run_id: str
    runs: int


def counts_for_the_class(run) -> bool:
    """Whether a run is one of a person's results here: theirs, trained on this server (not imported), with results
    and a model, and readable."""
    return (
        getattr(run, "owner", None) is not None
        and run.problem is None
        and run.metrics is not None
        and run.has_model
        and run.stop_reason != IMPORTED
    )


def class_leaderboard(runs: Iterable, names: Mapping[str, str] | None = None) -> list[BestOfPerson]:
    """Each person's best held-out test accuracy, best first, with the network that reached it.

    Counts runs trained on this server that have results and a model; imported models (trained
    elsewhere) and runs without an owner are left out. `names` maps owners to their current display
    names; a person without one is shown by the name saved with their newest run, or a placeholder.
    """
    names = names or {}
    best: dict[str, object] = {}
    counts: dict[str, int] = {}
    newest: dict[str, object] = {}
    for run in runs:
        if not counts_for_the_class(run):
            continue
        owner = run.owner
        counts[owner] = counts.get(owner, 0) + 1
        if owner not in newest or run.created > newest[owner].created:
            newest[owner] = run
        if owner not in best or run.metrics.test_accuracy > best[owner].metrics.test_accuracy:
            best[owner] = run
    board = [
        BestOfPerson(
            owner=owner,
            name=names.get(owner) or newest[owner].owner_name or placeholder_name(owner),
            test_accuracy=run.metrics.test_accuracy,
            network=run.config.shape_label(),
            run_id=run.run_id,
            runs=counts[owner],
        )
        for owner, run in best.items()
    ]
    return sorted(board, key=lambda entry: (-entry.test_accuracy, entry.name))
