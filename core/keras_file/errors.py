"""What every refusal of an uploaded model raises, and how its sizes are told."""

MB = 2**20  # Streamlit's maxUploadSize counts megabytes of 1,048,576 bytes, and so does every message here


class ModelImportError(ValueError):
    """The file is not a model this app can take; the message says why, for the person who uploaded it."""


def size_text(size: int) -> str:
    return f"{size / 1024:,.0f} KB" if size < MB else f"{size / MB:,.1f} MB"
