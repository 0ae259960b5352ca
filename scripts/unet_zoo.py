"""PyTorch U-Nets in the layouts users bring, for generating fixtures (written here from the layouts'
published structure; widths are parameters so fixtures stay small).

- MilesialUNet: milesial/Pytorch-UNet `UNet(n_channels, n_classes, bilinear)`: DoubleConv = (conv3x3 no
  bias, BN, ReLU) x 2 in `double_conv` (Sequential), `down{i}.maxpool_conv` = (MaxPool2d, DoubleConv),
  `up{i}.up` = ConvTranspose2d(in, in // 2) or bilinear Upsample (then halved channels),
  F.pad of the upsampled map, cat([skip, up]), `outc.conv` 1x1.
- LabmlUNet: labml.ai annotated U-Net: `down_conv[i].first/second` (conv3x3 pad 1 with bias, ReLU), no BN,
  `middle_conv`, `up_sample[i].up` ConvTranspose2d, torchvision center_crop of the skip, cat([up, skip]),
  `up_conv[i]`, `final_conv` 1x1.
- TutorialUNet: `inc.conv` = Sequential(conv3x3 with bias, BN, ReLU) x 2, `down{i}.maxpool_conv.1.conv`,
  `up{i}.up`, `up{i}.conv.conv`, `outc` 1x1; merge by center-cropping the skip or padding the upsampled
  map; same (pad 1) or valid (pad 0) convolutions.
- CustomUNet: a depth-3 U-Net with unrelated names, for structural matching.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def center_crop(img, size):
    """torchvision.transforms.functional.center_crop for tensors (see make_fixtures.py)."""
    h, w = img.shape[-2:]
    ch, cw = size
    if cw > w or ch > h:
        pads = [(cw - w) // 2 if cw > w else 0, (cw - w + 1) // 2 if cw > w else 0,
                (ch - h) // 2 if ch > h else 0, (ch - h + 1) // 2 if ch > h else 0]
        img = F.pad(img, pads)
        h, w = img.shape[-2:]
        if (h, w) == (ch, cw):
            return img
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return img[..., top:top + ch, left:left + cw]


def pad_to(up, skip):
    dy, dx = skip.size(2) - up.size(2), skip.size(3) - up.size(3)
    return F.pad(up, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])


# ----------------------------------------------------------------------------- milesial
class MilesialDoubleConv(nn.Module):
    def __init__(self, cin, cout, cmid=None):
        super().__init__()
        cmid = cmid or cout
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, cmid, 3, padding=1, bias=False), nn.BatchNorm2d(cmid), nn.ReLU(inplace=True),
            nn.Conv2d(cmid, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class MilesialDown(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), MilesialDoubleConv(cin, cout))

    def forward(self, x):
        return self.maxpool_conv(x)


class MilesialUp(nn.Module):
    def __init__(self, cin, cout, bilinear):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = MilesialDoubleConv(cin, cout, cin // 2)
        else:
            self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
            self.conv = MilesialDoubleConv(cin, cout)

    def forward(self, x1, x2):
        return self.conv(torch.cat([x2, pad_to(self.up(x1), x2)], dim=1))


class MilesialOutConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class FourLevelUNet(nn.Module):
    """The forward pass shared by layouts named inc, down1-4, up1-4, outc (milesial and the tutorial)."""
    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x = self.up1(self.down4(x4), x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        return self.outc(self.up4(x, x1))


class MilesialUNet(FourLevelUNet):
    def __init__(self, n_channels, n_classes, bilinear=False, base=64):
        super().__init__()
        b, f = base, (2 if bilinear else 1)
        self.inc = MilesialDoubleConv(n_channels, b)
        self.down1 = MilesialDown(b, 2 * b)
        self.down2 = MilesialDown(2 * b, 4 * b)
        self.down3 = MilesialDown(4 * b, 8 * b)
        self.down4 = MilesialDown(8 * b, 16 * b // f)
        self.up1 = MilesialUp(16 * b, 8 * b // f, bilinear)
        self.up2 = MilesialUp(8 * b, 4 * b // f, bilinear)
        self.up3 = MilesialUp(4 * b, 2 * b // f, bilinear)
        self.up4 = MilesialUp(2 * b, b, bilinear)
        self.outc = MilesialOutConv(b, n_classes)


# ----------------------------------------------------------------------------- labml
class LabmlDoubleConvolution(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.first = nn.Conv2d(cin, cout, kernel_size=3, padding=1)
        self.act1 = nn.ReLU()
        self.second = nn.Conv2d(cout, cout, kernel_size=3, padding=1)
        self.act2 = nn.ReLU()

    def forward(self, x):
        return self.act2(self.second(self.act1(self.first(x))))


class LabmlUpSample(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, kernel_size=2, stride=2)

    def forward(self, x):
        return self.up(x)


class LabmlUNet(nn.Module):
    def __init__(self, in_channels, out_channels, base=64):
        super().__init__()
        w = [base * 2 ** i for i in range(5)]
        self.down_conv = nn.ModuleList([LabmlDoubleConvolution(i, o) for i, o in
                                        [(in_channels, w[0]), (w[0], w[1]), (w[1], w[2]), (w[2], w[3])]])
        self.down_sample = nn.ModuleList([nn.MaxPool2d(2) for _ in range(4)])
        self.middle_conv = LabmlDoubleConvolution(w[3], w[4])
        self.up_sample = nn.ModuleList([LabmlUpSample(i, o) for i, o in [(w[4], w[3]), (w[3], w[2]), (w[2], w[1]), (w[1], w[0])]])
        self.up_conv = nn.ModuleList([LabmlDoubleConvolution(i, o) for i, o in [(w[4], w[3]), (w[3], w[2]), (w[2], w[1]), (w[1], w[0])]])
        self.final_conv = nn.Conv2d(w[0], out_channels, kernel_size=1)

    def forward(self, x):
        skips = []
        for conv, pool in zip(self.down_conv, self.down_sample):
            x = conv(x)
            skips.append(x)
            x = pool(x)
        x = self.middle_conv(x)
        for up, conv in zip(self.up_sample, self.up_conv):
            x = up(x)
            skip = skips.pop()
            x = conv(torch.cat([x, center_crop(skip, [x.shape[2], x.shape[3]])], dim=1))
        return self.final_conv(x)


# ----------------------------------------------------------------------------- tutorial
class TutorialDoubleConv(nn.Module):
    def __init__(self, cin, cout, padding):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=padding), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=padding), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.conv(x)


class TutorialDown(nn.Module):
    def __init__(self, cin, cout, padding):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), TutorialDoubleConv(cin, cout, padding))

    def forward(self, x):
        return self.maxpool_conv(x)


class TutorialUp(nn.Module):
    def __init__(self, cin, cout, padding, merge):
        super().__init__()
        self.merge = merge
        self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
        self.conv = TutorialDoubleConv(cin, cout, padding)

    def forward(self, x, skip):
        x = self.up(x)
        if self.merge == "crop":
            skip = center_crop(skip, [x.shape[2], x.shape[3]])
        else:
            x = pad_to(x, skip)
        return self.conv(torch.cat([skip, x], dim=1))


class TutorialUNet(FourLevelUNet):
    def __init__(self, n_channels, n_classes, base=64, padding=1, merge="pad"):
        super().__init__()
        b = base
        self.inc = TutorialDoubleConv(n_channels, b, padding)
        self.down1, self.down2 = TutorialDown(b, 2 * b, padding), TutorialDown(2 * b, 4 * b, padding)
        self.down3, self.down4 = TutorialDown(4 * b, 8 * b, padding), TutorialDown(8 * b, 16 * b, padding)
        self.up1, self.up2 = TutorialUp(16 * b, 8 * b, padding, merge), TutorialUp(8 * b, 4 * b, padding, merge)
        self.up3, self.up4 = TutorialUp(4 * b, 2 * b, padding, merge), TutorialUp(2 * b, b, padding, merge)
        self.outc = nn.Conv2d(b, n_classes, kernel_size=1)


# ----------------------------------------------------------------------------- custom (structural matching)
class CustomBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class CustomUNet(nn.Module):
    """Depth 3; same padding; skip-first concatenation after padding, like milesial, but other names and a
    module order that groups all up-convolutions before all decoder blocks."""

    def __init__(self, cin, classes, base):
        super().__init__()
        w = [base * 2 ** i for i in range(4)]
        self.encoder = nn.ModuleList([CustomBlock(cin, w[0]), CustomBlock(w[0], w[1]), CustomBlock(w[1], w[2])])
        self.bottleneck = CustomBlock(w[2], w[3])
        self.upconvs = nn.ModuleList([nn.ConvTranspose2d(w[3], w[2], 2, 2), nn.ConvTranspose2d(w[2], w[1], 2, 2),
                                      nn.ConvTranspose2d(w[1], w[0], 2, 2)])
        self.decoder = nn.ModuleList([CustomBlock(w[3], w[2]), CustomBlock(w[2], w[1]), CustomBlock(w[1], w[0])])
        self.head = nn.Conv2d(w[0], classes, 1)

    def forward(self, x):
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for up, block in zip(self.upconvs, self.decoder):
            skip = skips.pop()
            x = block(torch.cat([skip, pad_to(up(x), skip)], dim=1))
        return self.head(x)
