"""CycleGAN (Zhu, Park, Isola & Efros, 2017), following the official PyTorch code.

Two generators translate A->B and B->A; two PatchGAN discriminators judge each domain. The
generators learn from an LSGAN loss, from cycle consistency (A->B->A and B->A->B return to
the input, L1, weight lambda_cycle) and from an identity loss (a B image fed to the A->B
generator should come back unchanged, weight lambda_identity * lambda_cycle), which keeps
colours and intensities from drifting. The discriminators see generated images drawn from
a history of the last ``pool_size`` ones (Shrivastava et al. 2017), which damps the
oscillation between the two players. Both phases use Adam(2e-4, (0.5, 0.999)) with the
learning rate constant for the first half of training and decaying linearly to 0 after.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.core.errors import CapabilityError, ConfigError
from genzoo.core.gan import discriminator_loss, generator_loss, init_dcgan_weights
from genzoo.core.model import ZooModel
from genzoo.core.phases import Batch, Losses, Optim, Phase

from .config import CycleGANConfig

DIRECTIONS = ("a2b", "b2a")
NAMES = {"genzoo": ("net", "block"), "official": ("model", "conv_block")}
"""Per layout: the attribute holding a generator's layers and a residual block's. The official code's are
``model`` and ``conv_block``; with them the zoo's state dict keys are its keys, index for index."""


def _norm(channels: int) -> nn.Module:
    # Instance norm without affine parameters or running statistics, as in the official code:
    # every image is normalised on its own, so train and eval behave identically.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """x + [reflect-pad, conv3, norm, ReLU, (dropout), reflect-pad, conv3, norm](x)."""

    def __init__(self, channels: int, dropout: bool, name: str = "block") -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
                                   nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels)]
        self.name = name
        setattr(self, name, nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + getattr(self, self.name)(x)


class ResnetGenerator(nn.Module):
    """Johnson et al.'s transformer network: c7s1-k, d2k, d4k, n x R4k, u2k, uk, c7s1-C, tanh.

    Reflection padding instead of zero padding avoids border artefacts; the convolutions keep
    their biases because instance norm without affine parameters has no shift of its own.
    """

    def __init__(self, channels: int, width: int, n_blocks: int, dropout: bool = False, layout: str = "genzoo") -> None:
        super().__init__()
        net_name, block_name = NAMES[layout]
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7), _norm(width), nn.ReLU(True)]
        ch = width
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1), _norm(ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResnetBlock(ch, dropout, block_name) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, channels, 7), nn.Tanh()]
        self.name = net_name
        setattr(self, net_name, nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.name)(x)


class PatchDiscriminator(nn.Module):
    """A grid of real/fake scores, one per overlapping patch (pix2pix's PatchGAN).

    ``n_layers`` strided 4x4 convs, then two stride-1 4x4 convs; with 3 layers each output
    sees a 70x70 patch, with 2 a 34x34 one (the right scale for 28-32 pixel images).
    """

    def __init__(self, channels: int, width: int, n_layers: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for n in range(1, n_layers + 1):
            out = width * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ch, out, 4, stride, 1), _norm(out), nn.LeakyReLU(0.2, True)]
            ch = out
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class ImagePool(nn.Module):
    """The last ``size`` generated images of one direction, as buffers so checkpoints hold them.

    ``query`` is the official ImagePool's rule, vectorised: while the pool fills, images are
    stored and returned as they are; once full, each image is returned with probability 0.5,
    and otherwise swapped for a random stored one, which is returned instead. Images of one
    batch are handled as if one after another (a later image that draws the slot an earlier one
    just took gets that earlier image back), without reading anything back to the host, so a
    training step stays free of device syncs. Randomness comes from torch's global generator,
    which the trainer's checkpoints save: a resumed run draws the same swaps.
    """

    def __init__(self, size: int, shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.size = size
        # One spare slot at the end takes the writes that must not land (index_copy_ has no mask).
        self.register_buffer("images", torch.zeros(size + 1, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        images = images.detach().to(self.images.dtype)
        n, spare = images.shape[0], self.size
        order = torch.arange(n, device=images.device)
        slot_if_filling = self.count + order
        filling = slot_if_filling < self.size
        swapping = ~filling & (torch.rand(n, device=images.device) > 0.5)
        slot = torch.where(filling, slot_if_filling, torch.randint(0, self.size, (n,), device=images.device))
        # Stored first: the filling images (one free slot each), so a swap below may draw them.
        self.images.index_copy_(0, torch.where(filling, slot, spare), images)
        # For a swapping image: the latest earlier swapping image that drew the same slot, if any.
        same = (slot[:, None] == slot[None, :]) & swapping[:, None] & swapping[None, :]
        earlier = same & (order[None, :] < order[:, None])
        later = same & (order[None, :] > order[:, None])
        has_earlier = earlier.any(1)
        latest = (earlier * (order[None, :] + 1)).amax(1).sub(1).clamp(min=0)
        stored = torch.where(has_earlier[:, None, None, None], images[latest], self.images[slot])
        out = torch.where(swapping[:, None, None, None], stored, images)
        # Per slot, the last swapping image that drew it is what the slot holds afterwards.
        keep = swapping & ~later.any(1)
        self.images.index_copy_(0, torch.where(keep, slot, spare), images)
        self.count.copy_((self.count + n).clamp(max=self.size))
        return out


class CycleGAN(ZooModel):
    capabilities = frozenset({"translate"})
    ema_modules = ("g_ab", "g_ba")

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__(config)
        c = config
        self.g_ab = ResnetGenerator(c.channels, c.g_width, c.n_blocks, c.dropout, c.layout)
        if c.generators == "both":
            self.g_ba = ResnetGenerator(c.channels, c.g_width, c.n_blocks, c.dropout, c.layout)
            self.d_a = PatchDiscriminator(c.channels, c.d_width, c.d_layers)
            self.d_b = PatchDiscriminator(c.channels, c.d_width, c.d_layers)
            shape = (c.channels, c.image_size, c.image_size)
            self.pool_a, self.pool_b = ImagePool(c.pool_size, shape), ImagePool(c.pool_size, shape)
        init_dcgan_weights(self)  # N(0, 0.02), the official init_type="normal"
        self._fakes: tuple[Batch, torch.Tensor, torch.Tensor] | None = None

    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Images of one domain in [-1, 1] -> the other domain's, in [-1, 1]."""
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction={direction!r} is not allowed; choose a2b or b2a.")
        if direction == "b2a" and self.config.generators == "a2b":
            raise CapabilityError("this CycleGAN holds the A->B generator only (generators='a2b', e.g. one imported "
                                  "generator file), so it cannot translate b2a.")
        return (self.g_ab if direction == "a2b" else self.g_ba)(images)

    def g_loss(self, batch: Batch) -> Losses:
        c = self.config
        real_a, real_b = self._domains(batch)
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        # generator_loss("lsgan") is 0.5 * MSE; the official CycleGAN weights the generator's term
        # as the full MSE (against lambda_cycle = 10), so it is doubled here.
        gan_ab = 2 * generator_loss(self.d_b(fake_b), "lsgan")
        gan_ba = 2 * generator_loss(self.d_a(fake_a), "lsgan")
        cycle_a = F.l1_loss(self.g_ba(fake_b), real_a)
        cycle_b = F.l1_loss(self.g_ab(fake_a), real_b)
        losses = {"gan_ab": gan_ab, "gan_ba": gan_ba, "cycle_a": cycle_a, "cycle_b": cycle_b}
        total = gan_ab + gan_ba + c.lambda_cycle * (cycle_a + cycle_b)
        if c.lambda_identity > 0:
            idt_a, idt_b = F.l1_loss(self.g_ba(real_a), real_a), F.l1_loss(self.g_ab(real_b), real_b)
            total = total + c.lambda_cycle * c.lambda_identity * (idt_a + idt_b)
            losses.update(idt_a=idt_a, idt_b=idt_b)
        self._fakes = (batch, fake_a.detach(), fake_b.detach())
        return {"loss": total, **losses}

    def d_loss(self, batch: Batch) -> Losses:
        real_a, real_b = self._domains(batch)
        if self._fakes is not None and self._fakes[0] is batch:
            _, fake_a, fake_b = self._fakes
        else:  # the "d" phase ran without the "g" phase on this batch (e.g. repeats > 1)
            with torch.no_grad():
                fake_a, fake_b = self.g_ba(real_b), self.g_ab(real_a)
        self._fakes = None
        fake_a, fake_b = self.pool_a.query(fake_a), self.pool_b.query(fake_b)
        d_a = discriminator_loss(self.d_a(real_a), self.d_a(fake_a), "lsgan")
        d_b = discriminator_loss(self.d_b(real_b), self.d_b(fake_b), "lsgan")
        return {"loss": d_a + d_b, "d_a": d_a, "d_b": d_b}

    def _domains(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        if batch.images_b is None:
            raise ConfigError("CycleGAN trains on two unpaired domains: give --data unpaired:A_DIR,B_DIR "
                              "(or a two-domain data set such as mnist-inverted).")
        return batch.images, batch.images_b

    def phases(self) -> list[Phase]:
        c = self.config
        if c.generators == "a2b":
            raise ConfigError("a CycleGAN with generators='a2b' (one imported generator) has no B->A generator and "
                              "no discriminators to train; train a cyclegan model with generators='both'.")
        optim = Optim(lr=c.lr, betas=(c.beta1, c.beta2), lr_decay="linear", decay_start=c.decay_start)
        return [
            Phase("g", [self.g_ab, self.g_ba], self.g_loss, optim),
            Phase("d", [self.d_a, self.d_b], self.d_loss, optim),
        ]
