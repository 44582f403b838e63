"""Merge face-swap ONNX models into one that averages their probabilities on the same crop.

    python -m fakelens.train.average_models A.onnx B.onnx --out AB.onnx

Two different models on the plain crop cost what one model costs with its mirror image, so the merged
file says `mirror = false` in its metadata and report_face_swap / robustness score it without the
mirror (and `--write-manifest` writes that into the manifest's crop). Every member must take the same
input size and have been trained at the same crop scale; the merged file records their names, that
scale and what they were trained from.
"""

import argparse
from pathlib import Path

MIRROR_KEY = "mirror"   # metadata: "false" = score the plain crop only (the model averages views itself)
CROP_SCALE_KEY = "crop_scale"   # metadata: the crop scale the model is measured at (none: 1.0, as face_swap-1)


def recorded(model, key: str) -> str | None:
    """A metadata value of an ONNX model, None where it has none."""
    return next((x.value for x in model.metadata_props if x.key == key), None)


def merge(members: list[Path], out: Path) -> None:
    import onnx
    from onnx import helper

    models = [onnx.load(str(p)) for p in members]
    shapes = {tuple(d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim[1:]) for m in models}
    if len(shapes) != 1:
        raise SystemExit(f"the members take different inputs {sorted(shapes)}: only models of one size average")
    opsets = {o.version for m in models for o in m.opset_import if o.domain in ("", "ai.onnx")}
    if len(opsets) != 1:
        raise SystemExit(f"the members use different opsets {sorted(opsets)}: export them with one")
    # one crop for all: a member cut at another scale than it was trained at scores worse
    scales = {float(recorded(m, CROP_SCALE_KEY) or 1.0) for m in models}
    if len(scales) != 1:
        raise SystemExit(f"the members were trained at different crop scales {sorted(scales)}: only models "
                         "measured at one scale average")
    nodes, initializers, outputs = [], [], []
    for i, m in enumerate(models):
        m = onnx.compose.add_prefix(m, f"m{i}_")
        inner_input, inner_output = m.graph.input[0].name, m.graph.output[0].name
        for node in m.graph.node:   # the members all read the one shared input
            node.input[:] = ["input" if name == inner_input else name for name in node.input]
        nodes += m.graph.node
        initializers += m.graph.initializer
        outputs.append(inner_output)
    nodes.append(helper.make_node("Mean", outputs, ["prob"], name="average"))
    first = models[0].graph
    graph = helper.make_graph(nodes, "averaged_face_swap", [first.input[0]], [first.output[0]], initializers)
    merged = helper.make_model(graph, opset_imports=list(models[0].opset_import), producer_name="fakelens")
    merged.ir_version = models[0].ir_version
    props = {MIRROR_KEY: "false", CROP_SCALE_KEY: str(scales.pop()),
             "members": ", ".join(p.name if p.name != "best.onnx" else str(p) for p in members)}
    for key in ("backbone", "data", "synthesis"):   # what trained them, when the members agree (face_swap-1
        values = {recorded(m, key) for m in models}   # has none)
        values.discard(None)
        props[key] = values.pop() if len(values) == 1 else "+".join(sorted(values))
        if not props[key]:
            del props[key]
    helper.set_model_props(merged, props)
    onnx.checker.check_model(merged)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(merged, str(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("members", type=Path, nargs="+")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if len(args.members) < 2:
        ap.error("give at least two models to average")
    merge(args.members, args.out)
    print(f"wrote {args.out}: the mean of {len(args.members)} models, scored without the mirror")


if __name__ == "__main__":
    main()
