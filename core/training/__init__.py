"""The Keras side: MNIST's data, the model and its optimizer kernels, augmentation, the callbacks, the
worker process that trains one run and writes its record, the held-out evaluation, how a training uses the
machine, and teaching a model your drawings (include and fine-tune, each drawing repeated as variants).

Keras and TensorFlow are imported only inside the functions that build or train, so the server may import
the light parts (describe_layers, the teaching plan) without loading TensorFlow.

May use: core.config, core.runs, core.keras_file, core.drawings.
"""
