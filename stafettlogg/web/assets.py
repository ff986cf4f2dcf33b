"""The front-end assets the pages are served with: which files of which npm package,
at which pinned version, under which path of `static/vendor/`.

`package.json` and `package-lock.json` pin the versions; `make setup` runs `npm ci`
and then this file as a script (stdlib only, so the system Python can run it), which
checks that node_modules holds exactly the versions below and copies the files named
here, with each package's licence, into `static/vendor/<name>-<version>/`. The
vendored copies are generated (gitignored); the version in the path lets them be
cached for a long time. docs/frontend-assets.md lists them with their licences.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
VENDOR = STATIC / "vendor"
PROJECT = HERE.parents[1]
NODE_MODULES = PROJECT / "node_modules"

INTER_FILES = {
    f"inter-{subset}-{weight}-normal.woff2": f"files/inter-{subset}-{weight}-normal.woff2"
    for subset in ("latin", "latin-ext")
    for weight in (400, 500, 600, 700)
}


@dataclass(frozen=True)
class Asset:
    package: str  # the npm name
    version: str  # exactly as package-lock.json has it
    directory: str  # its directory under static/vendor/, without the version
    files: dict[str, str]  # the name it is served under -> its path inside the package
    licence: str  # SPDX identifier

    @property
    def path(self) -> str:
        """The directory under `/static/vendor/`: name and version."""
        return f"{self.directory}-{self.version}"

    def url(self, file: str) -> str:
        return f"/static/vendor/{self.path}/{file}"


ASSETS = {
    "htmx": Asset(
        "htmx.org", "2.0.11", "htmx",
        {"htmx.min.js": "dist/htmx.min.js", "LICENSE": "LICENSE"}, "0BSD",
    ),
    "designsystemet": Asset(
        "@digdir/designsystemet-css", "1.22.0", "designsystemet-css",
        {"index.css": "dist/src/index.css", "theme/designsystemet.css":
         "dist/theme/designsystemet.css", "LICENSE": "LICENSE"}, "MIT",
    ),
    "inter": Asset(
        "@fontsource/inter", "5.3.0", "inter", {**INTER_FILES, "LICENSE": "LICENSE"}, "OFL-1.1",
    ),
    "swagger": Asset(
        "swagger-ui-dist", "5.35.0", "swagger-ui-dist",
        {name: name for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE")},
        "Apache-2.0",
    ),
}


def url(asset: str, file: str) -> str:
    """`url("htmx", "htmx.min.js")`: where a vendored file is served."""
    entry = ASSETS[asset]
    if file not in entry.files:
        raise KeyError(f"{file} is not vendored from {entry.package}")
    return entry.url(file)


def install(node_modules: Path = NODE_MODULES, vendor: Path = VENDOR) -> list[Path]:
    """Copy the files from node_modules into a fresh `vendor/`; the files copied."""
    problems = []
    for asset in ASSETS.values():
        manifest = node_modules / asset.package / "package.json"
        if not manifest.is_file():
            problems.append(f"{asset.package} is not installed (run npm ci)")
            continue
        found = json.loads(manifest.read_text(encoding="utf-8"))["version"]
        if found != asset.version:
            problems.append(f"{asset.package} is {found} in node_modules, {asset.version} here")
    if problems:
        raise SystemExit("vendor assets: " + "; ".join(problems))
    if vendor.exists():
        shutil.rmtree(vendor)
    copied = []
    for asset in ASSETS.values():
        for served, source in asset.files.items():
            target = vendor / asset.path / served
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(node_modules / asset.package / source, target)
            copied.append(target)
    return copied


if __name__ == "__main__":
    files = install()
    print(f"vendor assets: {len(files)} files in {VENDOR.relative_to(PROJECT)}", file=sys.stderr)
