"""Keras's optimizers with each weight's update done by one of TensorFlow's fused kernels.

Keras 3 writes an update as separate tensor operations (square, multiply, add, divide, sqrt,
assign), each a pass over the weights and a new temporary array: on a CPU, a large share of a
small MLP's epoch. TensorFlow's fused kernels (ResourceApplyRMSProp and kin) do the same arithmetic
in one pass, in place (docs/benchmarks.md has what that saves).
The weights they produce agree with Keras's own to float rounding (tests/test_fused_updates.py).

Used for training only: a saved model names Keras's stock optimizer (core.training.model.export_model), so
it loads in any Keras. Anything the fused kernels do not cover (sparse gradients, another backend,
centred RMSprop, Nesterov, AMSGrad) takes Keras's own update.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _dense_resource(gradient, variable) -> bool:
    return not isinstance(gradient, tf.IndexedSlices) and hasattr(variable, "handle")


class RMSprop(keras.optimizers.RMSprop):
    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # TensorFlow's kernel always keeps a momentum slot; with momentum 0 it holds the last increment.
        if not self._momentums:
            self._fused_momentums = self.add_optimizer_variables(var_list, "fused_momentum")

    def update_step(self, gradient, variable, learning_rate):
        if self.centered or not _dense_resource(gradient, variable):
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        momentums = self._momentums or self._fused_momentums
        dtype = variable.dtype
        tf.raw_ops.ResourceApplyRMSProp(
            var=variable.handle,
            ms=self._velocities[index].value.handle,
            mom=momentums[index].value.handle,
            lr=tf.cast(learning_rate, dtype),
            rho=tf.cast(self.rho, dtype),
            momentum=tf.cast(self.momentum, dtype),
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


class Adam(keras.optimizers.Adam):
    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or not _dense_resource(gradient, variable):
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)  # as Keras counts: its first update is step 1
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


class SGD(keras.optimizers.SGD):
    def update_step(self, gradient, variable, learning_rate):
        if self.nesterov or not _dense_resource(gradient, variable):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        lr, grad = tf.cast(learning_rate, dtype), tf.cast(gradient, dtype)
        if self.momentum == 0:
            tf.raw_ops.ResourceApplyGradientDescent(var=variable.handle, alpha=lr, delta=grad)
            return
        tf.raw_ops.ResourceApplyKerasMomentum(
            var=variable.handle,
            accum=self.momentums[self._get_variable_index(variable)].value.handle,
            lr=lr,
            grad=grad,
            momentum=tf.cast(self.momentum, dtype),
        )
