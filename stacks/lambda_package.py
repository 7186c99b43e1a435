"""Reproducible Lambda zips.

cdktf's ARCHIVE assets store each file's mtime, so a fresh clone or a `touch` changes the zip
bytes, its filebase64sha256 and therefore triggers a redeploy of unchanged code. These zips
have sorted entries, a fixed 1980-01-01 timestamp and fixed permissions, and leave out
bytecode caches, so the same sources give the same bytes on every machine.
"""

import zipfile
from collections.abc import Sequence
from pathlib import Path

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def zip_entries(sources: Sequence[Path]) -> list[tuple[str, Path]]:
    """(name in the zip, file) for every source file; each directory lands at the zip root."""
    entries = []
    for source in sources:
        for path in source.rglob("*"):
            relative = path.relative_to(source)
            if not path.is_file() or SKIPPED_DIRS.intersection(relative.parts) or path.suffix == ".pyc":
                continue
            entries.append((f"{source.name}/{relative.as_posix()}", path))
    return sorted(entries)


def build_lambda_zip(sources: Sequence[Path], destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w") as archive:
        for name, path in zip_entries(sources):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.external_attr = FILE_MODE
            info.create_system = 3  # unix, whatever machine builds it
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return destination
