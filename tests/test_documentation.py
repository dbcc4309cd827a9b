"""Every convcalc command in the README, the Chinese README, docs/ and the description guide runs, and where the page shows
what it prints (`$ command` followed by output), the output it shows is what it prints now.

A command that names a user's file runs beside a stand-in: `my_net.yaml` (ResNet-18's description),
`my_model.py` (a small PyTorch network written here), `model.onnx` (the hand-written graph of
test_onnx.py), `resnet50.onnx` (torchvision's ResNet-50 exported by PyTorch), Ultralytics' model
files read from the installed ultralytics package (AGPL: read, never copied into this repository),
Darknet's cfg files from tests/darknet/. A command whose optional package is missing is skipped."""

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", ROOT / "README.zh.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "specs" / "README.md"]
SHELL = ("sh", "bash", "console", "shell", "")

MY_MODEL = '''import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(16 * 16 * 16, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))
'''


def examples() -> list[tuple[str, str, list[str]]]:
    """(page, command, the output shown after it) for every command in a shell block."""
    found = []
    for page in PAGES:
        for language, block in re.findall(r"```(\w*)\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            if language not in SHELL:
                continue
            lines = block.splitlines()
            for index, line in enumerate(lines):
                shown = line.startswith("$ ")
                command = line[2:] if shown else line
                if not re.match(r"(convcalc |printf .*\| *convcalc )", command):
                    continue
                output = []
                if shown:
                    for after in lines[index + 1:]:
                        if after.startswith("$ "):
                            break
                        output.append(after)
                found.append((page.relative_to(ROOT).as_posix(), command, output))
    return found


def needs(command: str) -> list[str]:
    """The optional packages a command needs."""
    packages = []
    if re.search(r"\.py:|torchvision\.|timm\.|--to torch", command):
        packages.append("torch")
    if "torchvision" in command:
        packages.append("torchvision")
    if "resnet50.onnx" in command:
        packages += ["torch", "torchvision", "onnx"]
    if re.search(r"yolo(v\d+|\d+)[a-z]?\.yaml", command):
        packages.append("ultralytics")
    return packages


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A directory holding the files the pages' commands name."""
    here = tmp_path_factory.mktemp("docs")
    shutil.copy(ROOT / "specs" / "resnet18.yaml", here / "my_net.yaml")
    (here / "my_model.py").write_text(MY_MODEL)
    from test_onnx import small_model_bytes

    (here / "model.onnx").write_bytes(small_model_bytes())
    for cfg in (ROOT / "tests" / "darknet").glob("*.cfg"):
        shutil.copy(cfg, here / cfg.name)
    if importlib.util.find_spec("ultralytics") is not None:
        import ultralytics

        for path in (Path(ultralytics.__file__).parent / "cfg" / "models").rglob("yolo*.yaml"):
            shutil.copy(path, here / path.name)
    return here


def resnet50_onnx(directory: Path) -> None:
    target = directory / "resnet50.onnx"
    if target.exists():
        return
    import torch
    import torchvision

    torch.onnx.export(torchvision.models.resnet50().eval(), (torch.zeros(1, 3, 224, 224),), str(target), dynamo=False,
                      opset_version=17)


EXAMPLES = examples()


def test_the_pages_have_commands():
    pages = {page for page, _, _ in EXAMPLES}
    assert {"README.md", "README.zh.md", "docs/layer.md", "docs/net.md", "docs/readers.md"} <= pages, pages


@pytest.mark.parametrize("page, command, output", EXAMPLES, ids=[f"{p}: {c[:60]}" for p, c, _ in EXAMPLES])
def test_every_command_in_the_pages_runs(page, command, output, workdir):
    for package in needs(command):
        pytest.importorskip(package)
    if "resnet50.onnx" in command:
        resnet50_onnx(workdir)
    line = command.split("  #")[0].strip()
    line = re.sub(r"(^|\| *)convcalc ", lambda m: m.group(1) + f"{shlex.quote(sys.executable)} -m convcalc ", line)
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "CONVCALC_LANG")}
    done = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=workdir, capture_output=True, text=True, timeout=300,
                          env={**environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    printed = {" ".join(row.split()) for row in done.stdout.splitlines()}
    missing = [row for row in output if row.strip() and "…" not in row and " ".join(row.split()) not in printed]
    assert missing == [], (missing, done.stdout[:3000])
