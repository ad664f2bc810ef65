import pytest

from core.config import ConfigError, TrainConfig
from core.model import count_parameters


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
        ("epochs", 0, "Epochs"),
        ("epochs", 2.5, "Epochs"),
        ("patience", -1, "patience"),
        ("validation_size", 10, "Validation size"),
        ("train_limit", 10, "Training-set limit"),
        ("train_limit", 56_000, "Training-set limit"),
        ("seed", -3, "Seed"),
        ("seed", True, "Seed"),
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
