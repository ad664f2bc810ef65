"""A `.keras` file read as data: the zip within a budget, config.json as plain JSON, the Dense weights with
h5py. Keras never deserialises a file (core.keras_file.reading says why), so the server reads models,
its own and strangers', without TensorFlow.

May use: core.config.
"""
