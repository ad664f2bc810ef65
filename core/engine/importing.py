"""Import a stranger's `.keras` file as a run: read it as data (core.keras_file.reading), evaluate it with numpy,
rebuild it with our own builder and store it as a completed run. The server never imports TensorFlow for it."""

from __future__ import annotations

import shutil
import time

from core.config import count_parameters
from core.drawings.inference import Classifier
from core.keras_file.reading import read_model
from core.runs.classroom import clean_name
from core.runs.states import COMPLETED, IMPORTED
from core.runs.store import MAX_LABEL_CHARS, RunStore, StoreError
from core.training.data import bundled_mnist, to_float
from core.training.evaluation import evaluate
from core.training.isolated import IsolatedError
from core.training.model import PlainModelFile


def import_model(data: bytes, filename: str, store: RunStore, owner: str | None = None, owner_name: str = "") -> str:
    """Check, rebuild and evaluate an uploaded model, and store it as a new completed run (`owner`'s, if given).

    Returns the run id. On any refusal (ModelImportError) nothing is stored.
    """
    archive = read_model(data)
    arrays = bundled_mnist()
    metrics = evaluate(
        Classifier(archive.config, archive.weights).predict(to_float(arrays["x_test"])),
        arrays["y_test"],
        best_epoch=0,
        epochs_run=0,
        train_seconds=0.0,
        train_images=0,
        parameters=count_parameters(archive.config),
    )
    # Rebuilt by our own builder from the checked settings (the file's config is only ever data), and
    # written by a child process, so this server never imports TensorFlow (core.training.isolated).
    model = PlainModelFile(archive.config, archive.weights)
    run_id = store.create_run(archive.config, owner=owner, owner_name=owner_name)
    try:
        try:
            store.save_model(run_id, model)
        except IsolatedError as error:
            raise StoreError(f"Could not save the imported model: {error}") from error
        store.save_metrics(run_id, metrics)
        store.update_status(
            run_id,
            status=COMPLETED,
            started=time.time(),
            finished=time.time(),
            stop_reason=IMPORTED,
            label=clean_name(f"imported: {filename}", most=MAX_LABEL_CHARS),
        )
    except BaseException:
        shutil.rmtree(store.run_dir(run_id), ignore_errors=True)
        raise
    return run_id
