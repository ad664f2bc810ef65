"""The zip archive of a `.keras` file, read within a budget: each member's declared size is a claim, so it is
checked before anything is inflated, and inflation itself stops at the size checked (core.keras_file.reading
says why)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from core.keras_file.errors import MB, ModelImportError, size_text

MAX_ZIP_ENTRIES = 64  # Keras writes 3 (metadata.json, config.json, model.weights.h5)
INFLATE_STEP = 1 * MB

_KERAS_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ZIP_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64", 93: "zstandard"}
_ZIP_ENCRYPTED = 0x1
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_HEADER_MAGIC = b"PK\x03\x04"


def zip_entries(data: bytes) -> list[zipfile.ZipInfo]:
    """The zip's list of members, once it is known to be short (zipfile builds an object per entry)."""
    if not data.startswith(b"PK"):
        raise ModelImportError("This is not a .keras model file: a .keras file is a zip archive, and this is not one.")
    source = io.BytesIO(data)  # shares `data`'s memory: bytes are immutable
    try:
        # The same end record zipfile.ZipFile will trust, read before it builds anything from it.
        end = zipfile._EndRecData(source)
        if end is None:
            raise zipfile.BadZipFile("no end of central directory")
        entries, directory_bytes = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
        if entries > MAX_ZIP_ENTRIES or directory_bytes > MAX_ZIP_ENTRIES * 1024:
            raise ModelImportError(f"This archive lists {entries:,} files; a .keras model has 3, so it is not one.")
        with zipfile.ZipFile(source) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, OverflowError, struct.error) as error:
        if isinstance(error, ModelImportError):
            raise
        raise damaged() from error


def damaged() -> ModelImportError:
    return ModelImportError("The file is damaged (perhaps cut short while downloading); download it again.")


def member(entries: list[zipfile.ZipInfo], name: str) -> zipfile.ZipInfo:
    """The one entry called `name`, after the checks that come before inflating anything."""
    found = [info for info in entries if info.filename == name]
    if not found:
        raise ModelImportError(f"This archive is not a Keras model: it has no {name}.")
    if len(found) > 1:
        # Readers disagree on which copy counts, which is how a checked file and a used file can differ.
        raise ModelImportError(f"This archive holds {name} {len(found)} times; a Keras model holds it once.")
    info = found[0]
    if info.flag_bits & _ZIP_ENCRYPTED:
        raise ModelImportError(f"{name} in this archive is encrypted; Keras never encrypts a model.")
    if info.compress_type not in _KERAS_METHODS:
        method = _ZIP_METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        raise ModelImportError(
            f"{name} is compressed with {method}; Keras stores it as is or with deflate, "
            "so this file was not saved by Keras."
        )
    return info


def _check_size(info: zipfile.ZipInfo, limit: int, what: str) -> None:
    if info.file_size > limit:
        raise ModelImportError(
            f"{info.filename} unpacks to {size_text(info.file_size)}, more than {what} can take ({size_text(limit)})."
        )


def read_member(data: bytes, info: zipfile.ZipInfo, limit: int, what: str) -> memoryview:
    """The member's bytes, checked against its CRC: a view into `data` if stored, else inflated up to `limit`."""
    _check_size(info, limit, what)
    try:
        packed = _packed_bytes(data, info)
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise damaged()
            content = packed  # no copy: the largest model's weights are hundreds of megabytes
        else:
            content = memoryview(_inflate(packed, info))
        if zlib.crc32(content) != info.CRC:
            raise damaged()
        return content
    except (zlib.error, ValueError, struct.error) as error:
        if isinstance(error, ModelImportError):
            raise
        raise damaged() from error


def _packed_bytes(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """Where the member's (compressed) bytes lie in `data`, found as zipfile finds them: after its local header."""
    start = info.header_offset
    header = _LOCAL_HEADER.unpack_from(data, start) if start >= 0 else (None,)
    if header[0] != _LOCAL_HEADER_MAGIC:
        raise damaged()
    first = start + _LOCAL_HEADER.size + header[10] + header[11]  # after the name and the extra field
    if first + info.compress_size > len(data):
        raise damaged()
    return memoryview(data)[first : first + info.compress_size]


def _inflate(packed: memoryview, info: zipfile.ZipInfo) -> bytearray:
    """Deflated bytes, a step at a time, never more than the size checked before: a declared size is only a claim."""
    inflater, out = zlib.decompressobj(-zlib.MAX_WBITS), bytearray()
    for start in range(0, len(packed), INFLATE_STEP):
        out += inflater.decompress(packed[start : start + INFLATE_STEP], info.file_size + 1 - len(out))
        if len(out) > info.file_size:
            raise ModelImportError(
                f"{info.filename} unpacks to more than the {info.file_size:,} bytes it declares; a damaged or "
                "hostile file, so it is refused."
            )
        if inflater.eof:
            break
    if not inflater.eof or len(out) != info.file_size:
        raise damaged()
    return out
