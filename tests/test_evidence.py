"""Why this answer: each pixel's evidence is the input times TensorFlow's own gradient of the lead, and for a
ReLU network the pixels' terms and the biases add up to the lead exactly."""

import numpy as np
import pytest

from core.config import ACTIVATIONS, TrainConfig
from core.drawings.evidence import explain
from core.drawings.inference import Classifier
from core.training.data import bundled_mnist, to_float
from core.training.model import build_model
from core.views import pictures
from tests.conftest import theme_backgrounds


def trained(config: TrainConfig):
    model = build_model(config)
    data = bundled_mnist()
    model.fit(to_float(data["x_train"][:2000]), data["y_train"][:2000], epochs=2, batch_size=100, verbose=0)
    return model


@pytest.fixture(scope="module")
def digits():
    data = bundled_mnist()
    return to_float(data["x_test"][:40]), data["y_test"][:40]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_evidence_is_input_times_tensorflows_gradient_of_the_lead(activation, digits, tmp_path):
    import tensorflow as tf

    model = trained(TrainConfig(hidden_layers=(48, 24), activation=activation, dropout=0.2))
    model.save(tmp_path / "model.keras")
    classifier = Classifier.load(tmp_path / "model.keras")
    images, _ = digits
    found = explain(classifier, images)

    # The same lead, differentiated by TensorFlow through the model Keras runs (its logits: the last
    # layer's input to softmax).
    logits_model = tf.keras.Model(model.inputs, model.layers[-1].output)
    logits_model.layers[-1].activation = tf.keras.activations.linear
    x = tf.constant(images)
    answers = np.array([e.answer for e in found])
    rivals = np.array([e.rival for e in found])
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = logits_model(x)
        lead = tf.gather(logits, answers, axis=1, batch_dims=1) - tf.gather(logits, rivals, axis=1, batch_dims=1)
    gradient = tape.gradient(lead, x).numpy()

    probabilities = classifier.predict(images)
    assert (answers == probabilities.argmax(axis=1)).all()
    second = np.sort(probabilities, axis=1)[:, -2]
    assert (answers != rivals).all() and (probabilities[np.arange(len(rivals)), rivals] == second).all()
    for i, evidence in enumerate(found):
        np.testing.assert_allclose(evidence.gradient, gradient[i], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(evidence.contributions, images[i] * gradient[i], rtol=1e-3, atol=1e-4)
        assert evidence.lead == pytest.approx(float(lead[i]), abs=1e-3)
        assert evidence.exact == (activation == "relu")


def test_a_relu_networks_pixels_and_biases_add_up_to_the_lead(digits, tmp_path):
    model = trained(TrainConfig(hidden_layers=(64, 32)))
    model.save(tmp_path / "model.keras")
    classifier = Classifier.load(tmp_path / "model.keras")
    images, _ = digits
    for evidence in explain(classifier, images):
        # The biases' share, computed on its own: the network run on a blank image with each unit held
        # active or silent as it is for this image.
        x = evidence.image.reshape(-1)
        zero = np.zeros_like(x)
        for kernel, bias in zip(classifier.kernels[:-1], classifier.biases[:-1]):
            active = (x @ kernel + bias) > 0
            x = np.maximum(x @ kernel + bias, 0)
            zero = (zero @ kernel + bias) * active
        out_kernel, out_bias = classifier.kernels[-1], classifier.biases[-1]
        a, r = evidence.answer, evidence.rival
        biases = float(zero @ (out_kernel[:, a] - out_kernel[:, r]) + out_bias[a] - out_bias[r])
        assert evidence.from_biases == pytest.approx(biases, abs=1e-3)
        assert float(evidence.contributions.sum()) + biases == pytest.approx(evidence.lead, abs=1e-3)


def test_rival_can_be_chosen_and_ink_toward_it_is_where_there_is_none(digits, tmp_path):
    model = trained(TrainConfig(hidden_layers=(64,)))
    model.save(tmp_path / "model.keras")
    classifier = Classifier.load(tmp_path / "model.keras")
    images, labels = digits
    found = explain(classifier, images, answers=labels, rivals=(labels + 1) % 10)
    for evidence, label in zip(found, labels):
        assert (evidence.answer, evidence.rival) == (label, (label + 1) % 10)
        ink = evidence.ink_toward_rival
        assert (ink >= 0).all()
        assert np.allclose(ink[evidence.image >= 1], 0)  # a full pixel cannot take more ink
        blank = evidence.image == 0
        np.testing.assert_allclose(ink[blank], np.maximum(-evidence.gradient[blank], 0))
        line = evidence.summary()
        assert line.startswith(f"Red ink counts for {label}, blue ink for {(label + 1) % 10}.")
        assert "Exact for this ReLU network" in line


def test_the_picture_colours_ink_by_its_evidence_and_blank_pixels_only_faintly(digits, tmp_path):
    model = trained(TrainConfig(hidden_layers=(64,)))
    model.save(tmp_path / "model.keras")
    images, _ = digits
    for evidence in explain(Classifier.load(tmp_path / "model.keras"), images[:10]):
        rgba = pictures.evidence_image(evidence.image, evidence.contributions, evidence.ink_toward_rival)
        assert rgba.shape == (28, 28, 4)
        blank = evidence.image == 0
        assert (rgba[..., 3][~blank] > 0).all() and (rgba[..., 3][blank] < 255).all()  # the page shows through
        for page in theme_backgrounds().values():  # as the browser shows it, on either theme's page
            picture = pictures.on_page(rgba, page).round().astype(int)
            red, blue = picture[..., 0], picture[..., 2]
            reddish, bluish = red - blue > 40, blue - red > 40
            assert reddish.any() and bluish.any()
            assert (evidence.contributions[reddish] > 0).all()  # red: only ink that counts for the answer
            strongest = np.unravel_index(np.abs(evidence.contributions).argmax(), (28, 28))
            expected = pictures.TOWARD_COLOUR if evidence.contributions[strongest] > 0 else pictures.AGAINST_COLOUR
            np.testing.assert_allclose(picture[strongest], expected, atol=2)  # full colour at the strongest pixel
            # On blank pixels the page moved toward the blue, at most by the faint share: never as strong as
            # evidence on ink, never another colour.
            toward = np.asarray(pictures.AGAINST_COLOUR, float) - page
            moved = picture[blank] - np.asarray(page)
            share = moved @ toward / (toward @ toward)
            assert share.max() <= pictures.FAINT + 0.02 and share.min() >= -0.01
            np.testing.assert_allclose(moved, share[:, None] * toward, atol=2)
