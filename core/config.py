"""Training configuration: every knob of the MLP, declared once and checked before anything runs.

`SETTINGS` is the one table of settings, like TensorFlow Playground's `PROPS`:
each row says a setting's name, label, help, limits, default, form step and
command-line flag. Validation, the Train page's form, the CLI's flags and the
README's list all read it, so adding a setting is one row here plus its use in
the model or the worker.

Defaults reproduce the classic Keras MNIST MLP (784-512-512-10, ReLU,
dropout 0.2, softmax: 669,706 parameters).
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
MAX_LAYERS = 6
MAX_UNITS = 4096
MAX_EPOCHS = 200
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # where the app runs from: data/, runs/, `python -m core...`
IMAGE_SIZE = 28  # MNIST digits are 28x28 pixels
INPUT_UNITS = IMAGE_SIZE * IMAGE_SIZE  # the network's input: the image flattened
NUM_CLASSES = 10
TRAIN_IMAGES = 60_000  # MNIST's training file: training and validation images together
TEST_IMAGES = 10_000


class ConfigError(ValueError):
    """A hyperparameter a person chose is out of range.

    `field` names the offending setting so a form can show the message next to it.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Setting:
    """One training setting, as the form, the command line and validation see it.

    Args:
        name: the TrainConfig field.
        label: how the form and every message name it.
        help: one or two sentences a learner reads next to the field.
        default: the value of a new TrainConfig.
        kind: "int", "float", "choice", "switch" or "layers" (the hidden layers' units).
        low, high: the allowed range, inclusive unless `low_open` / `high_open`; `high` may depend on
            the rest of the config (a function of it).
        step: the form's +/- step.
        choices: the allowed values of a "choice".
        flag: the command-line flag.
        section: the form's heading it appears under.
        rule: the start of the out-of-range message, when the plain "<label> must be ..." is not clear.
        none_is: for an optional setting, the form's number that means None ("use all"), else None.
        before: the value runs saved before this setting existed were trained with.
        number_format: printf-style format of the form's number field.
    """

    name: str
    label: str
    help: str
    default: object
    kind: str
    low: float | None = None
    high: float | Callable[[TrainConfig], float] | None = None
    low_open: bool = False
    high_open: bool = False
    step: float | None = None
    choices: tuple[str, ...] = ()
    flag: str = ""
    section: str = "Learning"
    rule: str | None = None
    none_is: int | None = None
    before: object = None
    number_format: str | None = None

    def upper(self, config: TrainConfig) -> float | None:
        return self.high(config) if callable(self.high) else self.high

    def range_text(self, config: TrainConfig) -> str:
        high = self.upper(config)
        if self.kind == "int":
            return f"a whole number from {self.low:,} to {high:,}"
        low = f"above {self.low:g}" if self.low_open else f"at least {self.low:g}"
        return f"{low} and {'below' if self.high_open else 'at most'} {high:g}"

    def check(self, config: TrainConfig) -> None:
        """Raise ConfigError if this setting's value in `config` is not allowed."""
        value = getattr(config, self.name)
        if self.kind == "layers":
            _check_layers(value)
        elif self.kind == "choice":
            if value not in self.choices:
                raise ConfigError(self.name, f"{self.label} must be one of {', '.join(self.choices)} (got {value!r}).")
        elif self.kind == "switch":
            if not isinstance(value, bool):
                raise ConfigError(self.name, f"{self.label} is on or off (got {value!r}).")
        elif value is not None or self.none_is is None:
            if not self._in_range(value, config):
                rule = self.rule or f"{self.label} must be {self.range_text(config)}"
                raise ConfigError(self.name, f"{rule} (got {value!r}).")

    def _in_range(self, value, config: TrainConfig) -> bool:
        if not (is_int(value) if self.kind == "int" else is_finite(value)):
            return False
        high = self.upper(config)
        above = value > self.low if self.low_open else value >= self.low
        below = value < high if self.high_open else value <= high
        return above and below


def count_parameters(config: TrainConfig) -> int:
    """The network's trainable parameters: each Dense layer's kernel and bias (669,706 for the defaults)."""
    sizes = (INPUT_UNITS, *config.hidden_layers, NUM_CLASSES)
    return sum(inputs * units + units for inputs, units in zip(sizes, sizes[1:]))


# --- what a value from a person, a file or the wire may be ------------------------------------------
# JSON and Python both count True as 1: every check of a number read from outside goes through these.


def is_int(value) -> bool:
    """A whole number, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value) -> bool:
    """A number, not a bool; NaN included (a diverged training's loss is NaN: a result, not damage)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite(value) -> bool:
    """A number, not a bool, neither NaN nor infinite."""
    return is_real(value) and math.isfinite(value)


def nan_or(check: Callable[[object], bool]) -> Callable[[object], bool]:
    """`check`, or NaN."""
    return lambda value: is_real(value) and (math.isnan(value) or check(value))


def optional(check: Callable[[object], bool]) -> Callable[[object], bool]:
    """`check`, or None."""
    return lambda value: value is None or check(value)


# The identifiers the app hands out, matched whole and in ASCII only (`\d` takes any script's digits, `$` a
# trailing newline): a run's folder name ("20261203-091500-1a2b3c") and a SHA-256 (an owner, a drawing's content).
_RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_LESSON_ID = re.compile(r"[0-9a-f]{8}")


def is_run_id(value) -> bool:
    return isinstance(value, str) and _RUN_ID.fullmatch(value) is not None


def is_lesson_id(value) -> bool:
    return isinstance(value, str) and _LESSON_ID.fullmatch(value) is not None


def is_sha256(value) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def _check_layers(layers) -> None:
    if not isinstance(layers, tuple) or not 1 <= len(layers) <= MAX_LAYERS:
        count = len(layers) if isinstance(layers, (tuple, list)) else layers
        raise ConfigError("hidden_layers", f"Use 1 to {MAX_LAYERS} hidden layers (got {count!r}).")
    for i, units in enumerate(layers, start=1):
        if not is_int(units) or not 1 <= units <= MAX_UNITS:
            raise ConfigError("hidden_layers", f"Hidden layer {i} needs 1 to {MAX_UNITS:,} units (got {units!r}).")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "hidden_layers",
        "Hidden layers",
        "How many layers of neurons between the pixels and the answer "
        f"(1 to {MAX_LAYERS}), and how many neurons each has (1 to {MAX_UNITS:,}).",
        (512, 512),
        "layers",
        step=32,
        flag="--hidden",
        section="Network",
    ),
    Setting(
        "activation",
        "Activation",
        "The bend each neuron applies to its input.",
        "relu",
        "choice",
        choices=ACTIVATIONS,
        flag="--activation",
        section="Network",
    ),
    Setting(
        "dropout",
        "Dropout",
        "Fraction of neurons switched off at random in each training step, so the "
        "network cannot rely on any single one (0 = off).",
        0.2,
        "float",
        low=0,
        high=1,
        high_open=True,
        step=0.05,
        flag="--dropout",
        section="Network",
        number_format="%.2f",
        rule="Dropout is the fraction of units switched off: at least 0 and below 1",
    ),
    Setting(
        "optimizer",
        "Optimizer",
        "How the weights are updated from the gradient (SGD uses momentum 0.9).",
        "rmsprop",
        "choice",
        choices=OPTIMIZERS,
        flag="--optimizer",
    ),
    Setting(
        "learning_rate",
        "Learning rate",
        "Size of each update step; 0.001 is a good start.",
        0.001,
        "float",
        low=0,
        high=1,
        low_open=True,
        step=0.0005,
        flag="--lr",
        number_format="%.4f",
    ),
    Setting(
        "batch_size",
        "Batch size",
        "Images per update step.",
        128,
        "int",
        low=1,
        high=8192,
        step=32,
        flag="--batch-size",
    ),
    Setting(
        "epochs",
        "Max epochs",
        "An epoch is one pass over all training images. Training may stop earlier (see patience).",
        20,
        "int",
        low=1,
        high=MAX_EPOCHS,
        step=1,
        flag="--epochs",
    ),
    Setting(
        "patience",
        "Early-stopping patience",
        "Stop after this many epochs without a better validation "
        "accuracy (0 = never stop early). The best epoch's model is kept either way.",
        3,
        "int",
        low=0,
        high=200,
        step=1,
        flag="--patience",
    ),
    Setting(
        "seed",
        "Seed",
        "Same seed, same settings: the same result.",
        0,
        "int",
        low=0,
        high=2**31 - 1,
        step=1,
        flag="--seed",
    ),
    Setting(
        "reduce_lr",
        "Lower LR on plateaus",
        "Halve the learning rate (LR) whenever validation "
        "accuracy has not improved for an epoch, so training settles into a better minimum.",
        True,
        "switch",
        flag="--reduce-lr",
        before=False,
    ),
    Setting(
        "augment",
        "Augment training images",
        "During training only, shift, rotate, zoom and thicken or thin "
        "each image at random, so the network copes with how people really draw.",
        False,
        "switch",
        flag="--augment",
        section="Data",
    ),
    Setting(
        "fast_mode",
        "Fast mode (16-bit)",
        "Hidden layers compute in 16-bit floats where the hardware has "
        "units for it (bfloat16 on CPUs, float16 on GPUs); the saved model is float32 either way.",
        False,
        "switch",
        flag="--fast",
        section="Data",
    ),
    Setting(
        "include_drawings",
        "Include your drawings",
        "Mix your own drawings (the Your drawings page) into the training images, each repeated and varied so "
        "that a few dozen count next to MNIST's 55,000. Every fifth drawing of each digit is kept out, to test on.",
        False,
        "switch",
        flag="--include-drawings",
        section="Data",
        before=False,
    ),
    Setting(
        "drawing_weight",
        "Weight of your drawings",
        "How much of every epoch your drawings make up, each repeated and varied (0.5: half), when they are "
        "included or a model is fine-tuned on them. More learns your style more, and may cost some of "
        "MNIST's accuracy: each taught run shows both.",
        0.65,
        "float",
        low=0.05,
        high=0.8,
        step=0.05,
        flag="--drawing-weight",
        section="Data",
        before=0.1,
        number_format="%.2f",
    ),
    Setting(
        "validation_size",
        "Validation images",
        "Held back from training to choose the best epoch. The 10,000 test images are never used.",
        5_000,
        "int",
        low=1_000,
        high=20_000,
        step=500,
        flag="--validation-size",
        section="Data",
    ),
    Setting(
        "train_limit",
        "Training images",
        "Train on only the first N images, for a quick experiment; empty (or 0) uses them all.",
        None,
        "int",
        low=100,
        high=lambda c: TRAIN_IMAGES - c.validation_size,
        step=1000,
        flag="--train-limit",
        section="Data",
        none_is=0,
    ),
)
SETTING = {setting.name: setting for setting in SETTINGS}


def _default(name: str):
    return SETTING[name].default


@dataclass(frozen=True)
class TrainConfig:
    """Everything needed to build, train and reproduce one MLP.

    Each field's meaning, limits and default are its row in SETTINGS.
    """

    hidden_layers: tuple[int, ...] = _default("hidden_layers")
    activation: str = _default("activation")
    dropout: float = _default("dropout")
    optimizer: str = _default("optimizer")
    learning_rate: float = _default("learning_rate")
    batch_size: int = _default("batch_size")
    epochs: int = _default("epochs")
    patience: int = _default("patience")
    seed: int = _default("seed")
    reduce_lr: bool = _default("reduce_lr")
    augment: bool = _default("augment")
    fast_mode: bool = _default("fast_mode")
    include_drawings: bool = _default("include_drawings")
    drawing_weight: float = _default("drawing_weight")
    validation_size: int = _default("validation_size")
    train_limit: int | None = _default("train_limit")

    def __post_init__(self) -> None:
        if isinstance(self.hidden_layers, list):
            object.__setattr__(self, "hidden_layers", tuple(self.hidden_layers))
        validate(self)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["hidden_layers"] = list(self.hidden_layers)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Build a config from JSON-like data (ConfigError if it is not one).

        Unknown keys (a newer version's) are ignored; a setting the file lacks (an older version's)
        takes the value runs were trained with before it existed.
        """
        if not isinstance(data, dict):
            raise ConfigError("config", f"A configuration is a set of named settings (got {type(data).__name__}).")
        known = {f.name for f in fields(cls)}
        older = {s.name: s.before for s in SETTINGS if s.before is not None and s.name not in data}
        return cls(**{k: v for k, v in data.items() if k in known}, **older)

    def replace(self, **changes) -> TrainConfig:
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def shape_label(self, separator: str = "-") -> str:
        """The network's shape from the pixels to the ten digits: "784-512-512-10"."""
        return separator.join(str(n) for n in (784, *self.hidden_layers, 10))

    def summary(self) -> str:
        """One line a learner can read: the shape of the network and how it learns."""
        parts = [
            self.shape_label(" → "),
            self.activation,
            f"dropout {self.dropout:g}",
            f"{self.optimizer} at learning rate {self.learning_rate:g}",
            f"batch {self.batch_size}",
            f"{training_images(self):,} training images",
        ]
        parts += ["augmented"] * self.augment + ["with your drawings"] * self.include_drawings
        parts += ["fast mode"] * self.fast_mode
        return " · ".join(parts)


def validate(config: TrainConfig) -> None:
    """Raise ConfigError for the first setting that is out of range."""
    for setting in SETTINGS:
        setting.check(config)


DEFAULTS = TrainConfig()


def training_images(config: TrainConfig) -> int:
    """How many images one epoch trains on."""
    available = TRAIN_IMAGES - config.validation_size
    return available if config.train_limit is None else min(config.train_limit, available)


def differing_settings(configs: list[TrainConfig]) -> list[str]:
    """The settings (seed aside) that are not the same in all of `configs`, in SETTINGS order."""
    return [s.name for s in SETTINGS if s.name != "seed" and len({repr(getattr(c, s.name)) for c in configs}) > 1]


def describe_setting(config: TrainConfig, name: str) -> str:
    """ "dropout 0.5", "hidden layers 64-32": one setting's value as a legend or a caption shows it."""
    value = getattr(config, name)
    if name == "hidden_layers":
        shown = "-".join(map(str, value))
    elif isinstance(value, float):
        shown = f"{value:g}"
    else:
        shown = "all" if value is None else str(value)
    return f"{SETTING[name].label.lower()} {shown}"


# --- the address: the Train page's settings as a link ------------------------------------------------
# /train?hidden=64,32&dropout=0.3&epochs=5&augment=on: each setting by its command-line flag's name without
# the dashes; `hidden` as comma-separated sizes, switches as on/off, `train-limit` as a number or "all".

LINK_NAMES: dict[str, Setting] = {s.flag.removeprefix("--"): s for s in SETTINGS}
_SWITCH_WORDS = {
    "on": True,
    "off": False,
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
}


@dataclass(frozen=True)
class LinkedSettings:
    """What an address says about the form.

    Attributes:
        values: setting name -> value as TrainConfig takes it, its range not checked (the form's own checks
            say what is out of range, under the field).
        unreadable: setting name -> why the address's value cannot even be put in the field.
        ignored: the address's names that are no setting, in order.
    """

    values: dict[str, object]
    unreadable: dict[str, str]
    ignored: list[str]


def settings_from_link(query: Mapping[str, str], others: Iterable[str] = ()) -> LinkedSettings:
    """The settings an address's query names (`others`: names the page uses itself, neither settings nor
    ignored, such as `run`)."""
    values, unreadable, ignored = {}, {}, []
    for name, text in query.items():
        setting = LINK_NAMES.get(name)
        if setting is None:
            if name not in others:
                ignored.append(name)
            continue
        try:
            values[setting.name] = _from_link(setting, str(text).strip())
        except ValueError as error:
            unreadable[setting.name] = f"{name}={text}: {error}"
    return LinkedSettings(values, unreadable, ignored)


def _from_link(setting: Setting, text: str):
    if setting.kind == "layers":
        try:
            return tuple(int(part) for part in text.split(","))
        except ValueError:
            raise ValueError("hidden layers are whole numbers separated by commas, such as 64,32") from None
    if setting.kind == "switch":
        if text.lower() not in _SWITCH_WORDS:
            raise ValueError(f"{setting.label} is on or off")
        return _SWITCH_WORDS[text.lower()]
    if setting.kind == "choice":
        if text.lower() not in setting.choices:
            raise ValueError(f"{setting.label} is one of {', '.join(setting.choices)}")
        return text.lower()
    if setting.none_is is not None and text.lower() in ("all", str(setting.none_is)):
        return None
    try:
        return int(text) if setting.kind == "int" else float(text)
    except ValueError:
        kind = "a whole number" if setting.kind == "int" else "a number"
        raise ValueError(f"{setting.label} is {kind}") from None


def linked_config(config: TrainConfig, address: str) -> TrainConfig:
    """`config` with the settings a Train page address (or what follows its ?) names; ConfigError for anything in
    it that is no setting or cannot be read (a headless training, or a lesson, should not start on half a link)."""
    address = address.strip()
    query = urlsplit(address).query if "?" in address else address
    linked = settings_from_link(dict(parse_qsl(query, keep_blank_values=True)), others=("run", "lesson"))
    if linked.unreadable:
        raise ConfigError("link", f"in the link, {next(iter(linked.unreadable.values()))}")
    if linked.ignored:
        raise ConfigError("link", f"the link names no such setting: {', '.join(linked.ignored)}")
    return config.replace(**linked.values)


def link_query(config: TrainConfig) -> str:
    """Every setting of `config` as an address's query, in SETTINGS order: what `settings_from_link` reads."""
    parts = []
    for name, setting in LINK_NAMES.items():
        value = getattr(config, setting.name)
        if setting.kind == "layers":
            text = ",".join(map(str, value))
        elif setting.kind == "switch":
            text = "on" if value else "off"
        elif value is None:
            text = "all"
        else:
            text = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(f"{name}={text}")
    return "&".join(parts)


# --- the command line --------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting, with its help and default from SETTINGS."""
    for s in SETTINGS:
        dest = dict(dest=s.name, help=f"{s.help} (default: {_shown_default(s)})")
        if s.kind == "switch":
            parser.add_argument(s.flag, action=argparse.BooleanOptionalAction, default=s.default, **dest)
        elif s.kind == "layers":
            parser.add_argument(s.flag, type=int, nargs="+", default=list(s.default), metavar="UNITS", **dest)
        elif s.kind == "choice":
            parser.add_argument(s.flag, choices=s.choices, default=s.default, **dest)
        else:
            parser.add_argument(
                s.flag,
                type=int if s.kind == "int" else float,
                default=s.default,
                metavar="N" if s.kind == "int" else "X",
                **dest,
            )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of parsed flags (ConfigError names the first bad one)."""
    values = {s.name: getattr(args, s.name) for s in SETTINGS}
    for s in SETTINGS:
        if s.none_is is not None and values[s.name] == s.none_is:
            values[s.name] = None
    values["hidden_layers"] = tuple(values["hidden_layers"])
    return TrainConfig(**values)


def _shown_default(setting: Setting) -> str:
    if setting.kind == "layers":
        return " ".join(map(str, setting.default))
    if setting.kind == "switch":
        return "on" if setting.default else "off"
    return "all" if setting.default is None else str(setting.default)


def settings_markdown() -> str:
    """The README's table of settings, made from SETTINGS (a test checks the README holds it)."""
    rows = ["| setting | command-line flag | default | allowed |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        if s.kind == "layers":
            allowed = f"1 to {MAX_LAYERS} layers of 1 to {MAX_UNITS:,} units"
        elif s.kind == "choice":
            allowed = ", ".join(s.choices)
        elif s.kind == "switch":
            allowed = "on or off"
        else:
            high = f"{TRAIN_IMAGES:,} - validation images" if callable(s.high) else None
            allowed = s.range_text(DEFAULTS) if high is None else f"a whole number from {s.low:,} to {high}"
        rows.append(f"| {s.label} | `{s.flag}` | {_shown_default(s)} | {allowed} |")
    return "\n".join(rows)
