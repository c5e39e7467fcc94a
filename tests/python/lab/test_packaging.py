"""The product ships no test or demo infrastructure: the lab depends on dirsync, never the reverse."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_product_package_imports_nothing_from_the_lab():
    offenders = {str(path.relative_to(ROOT)): sorted(n for n in _imports(path) if n.split(".")[0] == "dirsync_lab")
                 for path in (ROOT / "python" / "dirsync").rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_dirsync_wheel_holds_the_product_only(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("dirsync-*.whl")
    packages = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()
                if not name.split("/")[0].endswith(".dist-info")}
    assert packages == {"dirsync"}
    modules = [name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".py")]
    assert "dirsync/cli.py" in modules
    assert not [m for m in modules if any(part in m for part in ("tenant/", "testdomain", "demo"))]
