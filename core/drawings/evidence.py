"""Why a network gave its answer: each pixel's share of the answer's lead over the runner-up.

A network answers the digit with the largest logit. The lead of the answer `a` over a rival `r` is
logit_a - logit_r. At a given input a ReLU network is linear: every hidden unit is either active (it passes
its input on unchanged) or silent (it passes nothing), so the lead is exactly

    lead = sum over pixels of x_i * g_i  +  what the biases add

where g is the gradient of the lead through the active units. Each term x_i * g_i is one pixel's evidence:
positive pushes toward the answer, negative toward the rival. For the smooth activations (tanh, sigmoid,
elu, gelu) the same sum, gradient times input, is a first-order approximation, and the view says so.

The gradient also says what ink would do where there is none: a blank pixel with a negative g would move
the answer toward the rival if it were inked ("ink here would make it a 9").

Numpy only, with the saved weights, as the prediction is (core.drawings.inference): one backward pass of
matrix-vector products, well under a millisecond for the default network. `explain` takes a batch, so the
deletion benchmark and a run's mistakes are explained in one go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.config import IMAGE_SIZE
from core.drawings.inference import ACTIVATION_FUNCTIONS, ERF, Classifier, softmax

EXACT_ACTIVATIONS = frozenset({"relu"})


def _gelu_slope(x: np.ndarray) -> np.ndarray:
    # d/dx [x * Phi(x)] = Phi(x) + x * phi(x), phi and Phi the standard normal density and distribution.
    erf = ERF(x / math.sqrt(2)).astype(x.dtype)
    return 0.5 * (1 + erf) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _sigmoid_slope(x: np.ndarray) -> np.ndarray:
    s = ACTIVATION_FUNCTIONS["sigmoid"](x)
    return s * (1 - s)


# Each activation's derivative at its input (pre-activation).
SLOPES = {
    "relu": lambda x: (x > 0).astype(x.dtype),
    "tanh": lambda x: 1 - np.tanh(x) ** 2,
    "sigmoid": _sigmoid_slope,
    "elu": lambda x: np.where(x > 0, 1, np.exp(np.minimum(x, 0))).astype(x.dtype),
    "gelu": _gelu_slope,
}


@dataclass(frozen=True)
class Evidence:
    """Why one image got its answer rather than the rival.

    Attributes:
        image: the 28x28 image the model saw, in [0, 1].
        answer, rival: the two digits compared (the answer first).
        probabilities: the ten probabilities for the image.
        contributions: 28x28, each pixel's term x_i * g_i of the lead (positive: toward the answer).
        gradient: 28x28, g_i: how much one full pixel of ink there adds to the lead.
        lead: logit of the answer minus logit of the rival.
        exact: True where the terms and the biases' share add up to the lead exactly (ReLU networks).
    """

    image: np.ndarray
    answer: int
    rival: int
    probabilities: np.ndarray
    contributions: np.ndarray
    gradient: np.ndarray
    lead: float
    exact: bool

    @property
    def from_biases(self) -> float:
        """What the biases add to the lead (exact for ReLU; for the others, what the approximation leaves)."""
        return self.lead - float(self.contributions.sum())

    @property
    def ink_toward_rival(self) -> np.ndarray:
        """28x28, >= 0: how much inking each pixel fully would move the answer toward the rival."""
        return np.maximum(-self.gradient, 0) * (1 - self.image)

    def summary(self) -> str:
        """What the picture shows and how its evidence adds up, in words a learner can check."""
        toward = float(self.contributions[self.contributions > 0].sum())
        against = float(self.contributions[self.contributions < 0].sum())
        sums = (
            f"red {_signed(toward)}, blue {_signed(against)} and the biases {_signed(self.from_biases)} add up to "
            f"{self.answer}'s lead of {self.lead:.1f} in the network's scores (logits)"
        )
        how = (
            f"Exact for this ReLU network: {sums}."
            if self.exact
            else (f"An approximation for this network's activation (gradient × input): {sums}.")
        )
        return (
            f"Red ink counts for {self.answer}, blue ink for {self.rival}. {how} Faint blue where there is no ink: "
            f"ink there would make it more of a {self.rival}."
        )


def _signed(value: float) -> str:
    """+1.5, -0.3, and 0.0 (never "-0.0")."""
    shown = f"{value:+.1f}"
    return "0.0" if shown in ("+0.0", "-0.0") else shown


def runner_up(probabilities: np.ndarray) -> np.ndarray:
    """The second most likely digit of each row."""
    return np.argsort(-np.asarray(probabilities), axis=-1, kind="stable")[..., 1]


def explain(
    classifier: Classifier,
    images: np.ndarray,
    answers: np.ndarray | None = None,
    rivals: np.ndarray | None = None,
) -> list[Evidence]:
    """The evidence for each image's answer against its rival (by default the model's answer and runner-up).

    `images` are 28x28 floats in [0, 1] (one image or a batch); `answers` and `rivals` digits per image.
    """
    x = np.asarray(images, dtype=np.float32).reshape(-1, IMAGE_SIZE * IMAGE_SIZE)
    activation = ACTIVATION_FUNCTIONS[classifier.config.activation]
    slope = SLOPES[classifier.config.activation]
    inputs, slopes = [], []
    layer = x
    for kernel, bias in zip(classifier.kernels[:-1], classifier.biases[:-1]):
        before = layer @ kernel + bias
        slopes.append(slope(before))
        layer = activation(before)
        inputs.append(layer)
    logits = layer @ classifier.kernels[-1] + classifier.biases[-1]
    probabilities = softmax(logits)
    answers = probabilities.argmax(axis=1) if answers is None else np.broadcast_to(answers, len(x)).astype(int)
    rivals = runner_up(probabilities) if rivals is None else np.broadcast_to(rivals, len(x)).astype(int)
    rows = np.arange(len(x))
    # Backward: the lead's gradient, from the output layer down through each hidden layer's slopes.
    out = classifier.kernels[-1]
    grad = (out[:, answers] - out[:, rivals]).T
    for kernel, layer_slope in zip(reversed(classifier.kernels[:-1]), reversed(slopes)):
        grad = (grad * layer_slope) @ kernel.T
    leads = logits[rows, answers] - logits[rows, rivals]
    exact = classifier.config.activation in EXACT_ACTIVATIONS
    shape = (IMAGE_SIZE, IMAGE_SIZE)
    return [
        Evidence(
            image=x[i].reshape(shape),
            answer=int(answers[i]),
            rival=int(rivals[i]),
            probabilities=probabilities[i],
            contributions=(x[i] * grad[i]).reshape(shape),
            gradient=grad[i].reshape(shape),
            lead=float(leads[i]),
            exact=exact,
        )
        for i in range(len(x))
    ]
