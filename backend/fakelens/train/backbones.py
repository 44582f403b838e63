"""The face-swap network: an ImageNet backbone with one output logit (> 0 means blended).

Both backbones take the same input (ImageNet mean / std) and are measured in models/README.md.
"""

from torch import nn

from . import efficientnet_lite, mobilenet

BACKBONES = ("mobilenet_v2", "efficientnet_lite0")
DEFAULT_BACKBONE = "mobilenet_v2"   # face_swap-1's; checkpoints from before the option are this one


def backbone_of(checkpoint: dict) -> str:
    """The backbone a checkpoint was trained with (those from before the option are MobileNetV2)."""
    return checkpoint.get("state", {}).get("backbone", DEFAULT_BACKBONE)


def face_swap_net(backbone: str = DEFAULT_BACKBONE, imagenet_weights=None) -> nn.Module:
    """The network, from the backbone's ImageNet weights file when one is given."""
    if backbone == "mobilenet_v2":
        net = mobilenet.MobileNetV2()
        if imagenet_weights:
            mobilenet.load_imagenet(net, imagenet_weights)
        net.classifier[1] = nn.Linear(1280, 1)
    elif backbone == "efficientnet_lite0":
        net = efficientnet_lite.EfficientNetLite0()
        if imagenet_weights:
            efficientnet_lite.load_imagenet(net, imagenet_weights)
        net._fc = nn.Linear(1280, 1)
    else:
        raise ValueError(f"unknown backbone {backbone!r}; one of {', '.join(BACKBONES)}")
    return net


# The auxiliary mask head (trainer's --mask-loss) reads the last stride-16 feature map: for MobileNetV2
# features[13], 96 channels (10×10 at 160 px); for EfficientNet-Lite0 _blocks[10], the last block of
# its 112-channel stage. It is used in training only and never exported.
MASK_FEATURES = {"mobilenet_v2": ("features", 13, 96), "efficientnet_lite0": ("_blocks", 10, 112)}
MASK_STRIDE = 16


def attach_mask_head(net: nn.Module, backbone: str) -> tuple[nn.Module, dict]:
    """(head, tapped): a 1×1 convolution predicting the blend mask from the backbone's stride-16 features,
    and a dict whose "features" the backbone fills on every forward pass (a hook, so the network itself,
    its state dict and its ONNX stay exactly as without the head)."""
    if backbone not in MASK_FEATURES:
        raise ValueError(f"no mask head for {backbone}; one of {', '.join(MASK_FEATURES)}")
    layers, index, channels = MASK_FEATURES[backbone]
    tapped = {}
    getattr(net, layers)[index].register_forward_hook(lambda module, inputs, output: tapped.__setitem__("features", output))
    return nn.Conv2d(channels, 1, 1), tapped
