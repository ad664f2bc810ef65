"""The drawings folder: plain image files a person fills from the Draw page or by hand, read safely."""

import hashlib
import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.drawings.folder import DRAWINGS_DIR_ENV, DrawingSet, DrawingSetError, default_drawings_dir
from core.drawings.preprocessing import EmptyDrawing, preprocess_drawing
from tests.conftest import line_canvas

SEVEN = [(70, 50), (210, 50), (120, 240)]


def seven(size: int = 280, ink=(255, 255, 255), paper=(0, 0, 0), mode: str = "RGB") -> Image.Image:
    """A 7 drawn with a round pen, `ink` on `paper`, scaled to `size` pixels."""
    image = Image.new(mode, (280, 280), paper)
    draw = ImageDraw.Draw(image)
    draw.line(SEVEN, fill=ink, width=22, joint="curve")
    return image.resize((size, size), Image.Resampling.BILINEAR) if size != 280 else image


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=92) if fmt == "JPEG" else image.save(buffer, format=fmt)
    return buffer.getvalue()


def reference() -> np.ndarray:
    """The 28x28 image of the light-on-dark 7, as the Draw page prepares a drawing."""
    return preprocess_drawing(np.asarray(seven())).image


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels: a decompression bomb's calling card."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def test_a_saved_drawing_reads_back_labelled_and_as_the_page_prepared_it(tmp_path):
    drawings = DrawingSet(tmp_path / "drawings")
    canvas = np.asarray(seven(mode="RGBA", ink=(255, 255, 255, 255), paper=(0, 0, 0, 255)))
    name = drawings.save(7, canvas)
    assert name.startswith("7_") and name.endswith(".png")
    (drawing,) = drawings.scan().drawings
    assert (drawing.name, drawing.label) == (name, 7)
    assert drawing.sha256 == hashlib.sha256((tmp_path / "drawings" / name).read_bytes()).hexdigest()
    assert np.abs(drawing.image - preprocess_drawing(canvas).image).max() < 0.02
    assert not [p for p in (tmp_path / "drawings").iterdir() if p.name.startswith(".")]  # no temporary file left


def test_nothing_to_save_and_a_label_that_is_not_a_digit_are_refused(tmp_path):
    drawings = DrawingSet(tmp_path / "drawings")
    with pytest.raises(EmptyDrawing):
        drawings.save(3, np.zeros((280, 280, 4), np.uint8))
    for label in (10, -1, True, "7"):
        with pytest.raises(ValueError):
            drawings.save(label, np.asarray(seven()))
    assert not (tmp_path / "drawings").exists() or not any((tmp_path / "drawings").iterdir())


def test_labels_come_from_the_digit_that_starts_the_name(tmp_path):
    folder = tmp_path / "drawings"
    folder.mkdir()
    data = encoded(seven())
    for name in ("7_a81c.png", "3-mine.png", "0_X.PNG", "9_scan.jpeg", "12_two-digits.png", "x_7.png", "7.png"):
        (folder / name).write_bytes(data)
    scan = DrawingSet(folder).scan()
    assert {d.name: d.label for d in scan.drawings} == {
        "7_a81c.png": 7,
        "3-mine.png": 3,
        "0_X.PNG": 0,
        "9_scan.jpeg": 9,
    }
    assert {s.name for s in scan.skipped} == {"12_two-digits.png", "x_7.png", "7.png"}
    assert all("no digit in its name" in s.reason for s in scan.skipped)
    assert scan.counts() == [1, 0, 0, 1, 0, 0, 0, 1, 0, 1]


@pytest.mark.parametrize(
    "kind",
    ["dark on light PNG", "dark on light JPEG", "grey paper photo", "dark ink on transparent", "large light on dark"],
)
def test_every_way_round_reads_as_the_light_on_dark_drawing(tmp_path, kind):
    if kind == "dark on light PNG":
        data = encoded(seven(ink=(0, 0, 0), paper=(255, 255, 255)))
    elif kind == "dark on light JPEG":
        data = encoded(seven(ink=(20, 20, 30), paper=(250, 250, 245)), "JPEG")
    elif kind == "grey paper photo":
        data = encoded(seven(size=900, ink=(60, 50, 70), paper=(185, 180, 170)), "JPEG")
    elif kind == "dark ink on transparent":
        data = encoded(seven(mode="RGBA", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0)))
    else:
        data = encoded(seven(size=2000))
    folder = tmp_path / "drawings"
    folder.mkdir()
    (folder / "7_in.png").write_bytes(data)
    (drawing,) = DrawingSet(folder).scan().drawings
    assert np.abs(drawing.image - reference()).mean() < 0.03, kind
    assert np.corrcoef(drawing.image.ravel(), reference().ravel())[0, 1] > 0.95, kind


def test_files_that_are_not_drawings_are_listed_with_the_reason_and_skipped(tmp_path):
    folder = tmp_path / "drawings"
    folder.mkdir()
    good = encoded(seven())
    (folder / "7_good.png").write_bytes(good)
    (folder / "4_notes.png").write_text("my shopping list")
    (folder / "4_cut.png").write_bytes(good[: len(good) // 2])
    (folder / "4_cut.jpg").write_bytes(encoded(seven(), "JPEG")[:700])
    (folder / "4_bomb.png").write_bytes(png_declaring(200_000, 200_000))  # 40 gigapixels in a few bytes
    (folder / "4_wide.png").write_bytes(png_declaring(30_000, 1_000))  # within Pillow's limit, over ours
    (folder / "4_blank.png").write_bytes(encoded(Image.new("L", (280, 280))))
    (folder / "4_folder.png").mkdir()
    (folder / "4_folder.png" / "7_inside.png").write_bytes(good)
    outside = tmp_path / "secret.png"
    outside.write_bytes(good)
    (folder / "4_link.png").symlink_to(outside)
    (folder / "4_link_to_folder.png").symlink_to(tmp_path)
    os.mkfifo(folder / "4_pipe.png")  # opening it for reading would wait forever
    (folder / "4_\x1b[31mred.png").write_bytes(good)
    with open(bytes(folder) + b"/4_\xff.png", "wb") as f:  # a name that is not UTF-8
        f.write(good)
    (folder / "notes.txt").write_text("hello")
    (folder / ".7_hidden.png").write_bytes(good)
    (folder / ".7_good.png.1a2b3c4d.tmp").write_bytes(good[:10])  # a save cut short

    scan = DrawingSet(folder).scan()
    assert [d.name for d in scan.drawings] == ["7_good.png"]
    reasons = {s.name: s.reason for s in scan.skipped}
    assert "not a PNG or JPEG image" in reasons["4_notes.png"]
    assert "cut off or damaged" in reasons["4_cut.png"] and "cut off or damaged" in reasons["4_cut.jpg"]
    assert "pixels" in reasons["4_bomb.png"] and "30,000×1,000 pixels" in reasons["4_wide.png"]
    assert "no digit in it" in reasons["4_blank.png"]
    assert "is a folder" in reasons["4_folder.png"]
    assert "is a link" in reasons["4_link.png"] and "is a link" in reasons["4_link_to_folder.png"]
    assert "not a plain file" in reasons["4_pipe.png"]
    assert "not text" in reasons["4_\\x1b[31mred.png"]  # shown escaped, never as a terminal control code
    assert "not a PNG or JPEG file" in reasons["notes.txt"]
    assert not any(name.startswith(".") for name in reasons)  # hidden and temporary files are passed over
    assert "not text" in reasons["4_\\udcff.png"]
    assert len(scan.skipped) == 13


def test_limits_on_bytes_and_pixels_are_the_sets_own(tmp_path):
    folder = tmp_path / "drawings"
    folder.mkdir()
    (folder / "7_photo.png").write_bytes(encoded(seven(size=400)))
    strict = DrawingSet(folder, max_file_bytes=500, max_pixels=100 * 100)
    (skipped,) = strict.scan().skipped
    assert "MB are read" in skipped.reason
    (skipped,) = DrawingSet(folder, max_pixels=100 * 100).scan().skipped
    assert "400×400 pixels; at most 10,000" in skipped.reason
    assert DrawingSet(folder).scan().drawings


def test_a_missing_folder_holds_no_drawings_and_a_file_in_its_place_is_named(tmp_path):
    assert DrawingSet(tmp_path / "nothing-yet").scan().drawings == ()
    (tmp_path / "drawings").write_text("a file")
    with pytest.raises(DrawingSetError, match="it is a file, not a folder"):
        DrawingSet(tmp_path / "drawings").scan()
    with pytest.raises(DrawingSetError, match="Could not save your drawing"):
        DrawingSet(tmp_path / "drawings" / "below").save(1, line_canvas(np.random.default_rng(0)))


def test_delete_removes_one_drawing_and_nothing_outside_the_folder(tmp_path):
    drawings = DrawingSet(tmp_path / "drawings")
    name = drawings.save(1, line_canvas(np.random.default_rng(0)))
    keep = drawings.save(1, line_canvas(np.random.default_rng(1)))
    outside = tmp_path / "1_outside.png"
    outside.write_bytes(b"mine")
    for bad in ("../1_outside.png", "/etc/passwd", ".", "..", "notes.txt", "", "1_missing.png"):
        with pytest.raises(DrawingSetError):
            drawings.delete(bad)
    drawings.delete(name)
    assert [d.name for d in drawings.scan().drawings] == [keep]
    assert outside.read_bytes() == b"mine"


def test_the_folder_is_beside_the_run_store_unless_the_environment_names_one(tmp_path, monkeypatch):
    monkeypatch.delenv(DRAWINGS_DIR_ENV, raising=False)
    assert default_drawings_dir(tmp_path / "runs") == tmp_path / "drawings"
    monkeypatch.setenv(DRAWINGS_DIR_ENV, str(tmp_path / "mine"))
    assert default_drawings_dir(tmp_path / "runs") == tmp_path / "mine"
