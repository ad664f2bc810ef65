"""The app's logic in plain Python: no Streamlit here, and TensorFlow only in the training worker's process.

Packages by concern, each importing only from those listed before it (tests/test_layout.py checks it):

    config.py    every training setting, declared once; MNIST's shape; checks of values read from outside
    runs/        the run store: each run's folder and files, states, results, snapshots, the class's records
    keras_file/  reading a `.keras` file as data (never deserialised by Keras)
    drawings/    a canvas drawing made into the 28x28 image, the drawings folder, numpy inference, the map
    training/    the Keras side: data, model, callbacks, the worker process, evaluation, teaching drawings
    views/       what the pages draw from a run: Plotly charts, server-drawn pictures, the look inside
    engine/      jobs and the queue, where a training runs (this machine or Dask), importing a model
    live_feed.py the live page's one channel (a WebSocket per watched run), served by the app's server
    cli.py       `python -m core.cli`: the same trainings without a browser
"""
