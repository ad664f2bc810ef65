"""Drawings: a canvas drawing made into the 28x28 image MNIST's digits are (core.drawings.preprocessing),
the folder of saved, labelled drawings (core.drawings.folder), a saved model run with numpy on them
(core.drawings.inference) and the map of where a drawing lands among MNIST's digits.

May use: core.config, core.runs, core.keras_file.
"""
