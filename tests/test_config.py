import argparse
from dataclasses import fields
from pathlib import Path

import pytest

from core.config import (
    SETTINGS,
    ConfigError,
    TrainConfig,
    add_arguments,
    config_from_args,
    count_parameters,
    settings_markdown,
)


def test_defaults_are_the_classic_keras_mlp():
    config = TrainConfig()
    assert config.hidden_layers == (512, 512)
    assert config.dropout == 0.2 and config.activation == "relu"
    assert count_parameters(config) == 669_706


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("hidden_layers", (), "1 to 6 hidden layers"),
        ("hidden_layers", (64,) * 7, "1 to 6 hidden layers"),
        ("hidden_layers", (0,), "Hidden layer 1 needs 1 to 4,096 units"),
        ("hidden_layers", (64, 5000), "Hidden layer 2 needs 1 to 4,096 units"),
        ("hidden_layers", (64.5,), "Hidden layer 1"),
        ("dropout", 1.5, "Dropout"),
        ("dropout", 1.0, "below 1"),
        ("dropout", -0.1, "Dropout"),
        ("dropout", float("nan"), "Dropout"),
        ("activation", "softmax", "Activation must be one of relu"),
        ("optimizer", "adagrad", "Optimizer must be one of"),
        ("learning_rate", 0, "Learning rate"),
        ("learning_rate", 2.0, "Learning rate"),
        ("batch_size", 0, "Batch size"),
        ("batch_size", 10_000, "Batch size"),
        ("epochs", 0, "Max epochs"),
        ("epochs", 2.5, "Max epochs"),
        ("patience", -1, "patience"),
        ("validation_size", 10, "Validation images"),
        ("train_limit", 10, "Training images"),
        ("train_limit", 56_000, "from 100 to 55,000"),
        ("seed", -3, "Seed"),
        ("seed", True, "Seed"),
        ("reduce_lr", 1, "on or off"),
        ("hidden_layers", "512", "1 to 6 hidden layers"),
    ],
)
def test_each_bad_field_is_named_with_its_range(field, value, words):
    with pytest.raises(ConfigError) as raised:
        TrainConfig(**{field: value})
    assert raised.value.field == field
    assert words in raised.value.message


def test_round_trips_through_json_data():
    config = TrainConfig(hidden_layers=(64, 32), dropout=0.5, optimizer="sgd", train_limit=2_000)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict({**config.to_dict(), "from_a_newer_version": 1}) == config


@pytest.mark.parametrize("data", [[], None, "relu", 3, {"hidden_layers": {"a": 1}}, {"dropout": "0.2"}])
def test_a_config_file_of_the_wrong_shape_is_a_config_error(data):
    with pytest.raises(ConfigError):
        TrainConfig.from_dict(data)


def test_a_run_saved_before_a_setting_existed_reads_as_it_was_trained():
    older = {k: v for k, v in TrainConfig().to_dict().items() if k != "reduce_lr"}
    assert TrainConfig.from_dict(older).reduce_lr is False
    assert TrainConfig().reduce_lr is True


def parse(*flags: str) -> TrainConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return config_from_args(parser.parse_args(list(flags)))


def test_every_setting_has_a_command_line_flag_with_the_table_default():
    assert parse() == TrainConfig()
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert all(f"{s.flag} " in parser.format_help() for s in SETTINGS)


def test_the_table_and_the_config_declare_the_same_settings_and_defaults():
    assert [s.name for s in SETTINGS] == [f.name for f in fields(TrainConfig)]
    assert {s.name: s.default for s in SETTINGS} == {f.name: f.default for f in fields(TrainConfig)}


def test_flags_reach_the_config_and_zero_training_images_means_all():
    config = parse("--hidden", "64", "32", "--no-reduce-lr", "--augment", "--lr", "0.01", "--train-limit", "0")
    assert config.hidden_layers == (64, 32) and not config.reduce_lr and config.augment
    assert config.learning_rate == 0.01 and config.train_limit is None
    with pytest.raises(ConfigError, match="Training images"):
        parse("--train-limit", "5")


def test_the_readme_lists_every_setting_as_the_table_says():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert settings_markdown() in readme, "run: python -c 'from core.config import settings_markdown as s; print(s())'"
