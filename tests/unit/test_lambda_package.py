"""Lambda zips are reproducible: same sources, same bytes, whatever the mtimes or caches."""

import os
import shutil
import zipfile
from pathlib import Path

from stacks.lambda_package import build_lambda_zip

ROOT = Path(__file__).resolve().parents[2]


def _copy_sources(destination: Path) -> list[Path]:
    sources = []
    for name in ("reward_calculator", "referrals"):
        target = destination / name
        shutil.copytree(ROOT / "lambdas" / name, target, ignore=shutil.ignore_patterns("__pycache__"))
        sources.append(target)
    return sources


def test_same_sources_give_the_same_bytes_despite_mtimes_and_caches(tmp_path: Path) -> None:
    first = build_lambda_zip(_copy_sources(tmp_path / "a"), tmp_path / "a.zip").read_bytes()
    sources = _copy_sources(tmp_path / "b")
    for path in sources[0].rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    (sources[1] / "__pycache__").mkdir()
    (sources[1] / "__pycache__" / "money.cpython-311.pyc").write_bytes(b"\x00stale")
    (sources[1] / "stray.pyc").write_bytes(b"\x00")
    second = build_lambda_zip(sources, tmp_path / "b.zip").read_bytes()
    assert first == second


def test_zip_has_sorted_entries_fixed_times_and_both_packages_at_the_root(tmp_path: Path) -> None:
    path = build_lambda_zip(_copy_sources(tmp_path / "src"), tmp_path / "fn.zip")
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert "reward_calculator/__init__.py" in names
    assert "referrals/contract.py" in names
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
    assert all((info.external_attr >> 16) == 0o100644 for info in infos)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
