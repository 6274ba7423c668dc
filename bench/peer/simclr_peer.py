#!/usr/bin/python3
"""SimCLR training-step throughput in plain PyTorch: the peer of Pretext's step bench (bench/Pretext.Bench/StepBench.cs).

Written the way a user of lightly or solo-learn writes SimCLR by hand: torch.nn modules, per-sample augmentations in a
Dataset run by DataLoader worker processes, autocast for bf16, channels_last by .to(memory_format=...). Nothing here is
tuned for speed beyond what such a user would do. It mirrors Pretext's quickstart recipe (Presets.For("simclr",
"fashion-mnist")) so the two steps compute the same thing:

  encoder     ResNet for small images: 3x3 stride-1 stem, no max-pool, one stage per width (stride 2 after the first),
              basic blocks, convolutions without bias, global average pooling (src/Pretext/Encoders/ResNet.cs);
              kaiming-normal fan-out weights, last batch-norm gamma of each block zero (Goyal et al. 2017)
  head        Linear(d, d, no bias) -> BatchNorm1d -> ReLU -> Linear(d, 128) (SimClrProjectionHead)
  loss        NT-Xent over 2N embeddings, temperature 0.2, computed in fp32 (src/Pretext/Losses/NtXentLoss.cs)
  optimiser   LARS (eta 0.001, momentum 0.9, weight decay 1e-6; 1-D parameters without decay or trust ratio),
              lr 2.4, linear warm-up over half an epoch then cosine decay over 5 epochs (src/Pretext/Training/Optimizer.cs)
  views       two per image: random resized crop to 28 (scale 0.2-1, ratio 3/4-4/3, bilinear), horizontal flip p=0.5,
              brightness and contrast jitter 0.4 with p=0.8 in random order, standardised with Fashion-MNIST's mean
              0.2860 and std 0.3530 (src/Pretext/Augmentations/ImageAugmentationConfig.cs)
  precision   Float32, or BFloat16: torch.autocast('cpu', dtype=torch.bfloat16) around the forward passes, fp32 master
              weights (Pretext's mixed precision); the loss in fp32 either way. Under autocast the projection head's linear
              layers run in bf16 too, where Pretext runs its head in fp32 (about 0.2 % of the step's FLOPs)
  layout      Contiguous, or ChannelsLast: model and inputs .to(memory_format=torch.channels_last)

The views are made per sample in --workers DataLoader worker processes (default 1, torchvision-style transforms written
with torch ops: Debian's python3-torch comes without torchvision), as Pretext makes the next batch's views on a background
thread while the current step runs. Step time runs from asking the loader for the batch to the end of the optimiser step,
as in Pretext's Trainer; the median over the measured steps is reported.

Prints one JSON line with the step bench's fields (samples_per_second, step_ms, peak_rss_mb, threads, batch, widths,
blocks, precision, layout, steps_measured, data) and the peer's own (cpu_seconds, workers, peak_rss_workers_mb, torch).

  /usr/bin/python3 bench/peer/simclr_peer.py [--widths 32,64,128,256] [--blocks 1,1,1,1] [--precision Float32|BFloat16]
      [--layout Contiguous|ChannelsLast] [--batch 256] [--threads 2] [--steps 20] [--warmup 3] [--workers 1]
  /usr/bin/python3 bench/peer/simclr_peer.py --gemm [--precision ...] [--threads 2] [--size 1024] [--seconds 2]
      measured matmul rate (GFLOP/s) of this PyTorch at that precision: the peak MFU is taken against
  /usr/bin/python3 bench/peer/simclr_peer.py --out DIR (--save-every N | --save-every-minutes M) [--epochs 5] [--minutes M]
      [--max-steps S] [--max-minutes M] [shape, precision, threads and workers as above]
      pretraining for time to accuracy: the encoder's state_dict saved (torch.save, under the names `pretext export` gives
      the ResNet, so `pretext import` reads it) with DIR/manifest.json listing each save's step and cumulative pretraining
      seconds, save time left out (pretrain() below; scored by `Pretext.Bench time-to-accuracy`)
  /usr/bin/python3 bench/peer/simclr_peer.py --embed STATE [--count 8] [--widths ... --blocks ...] [--data DIR]
      features of the first images of DIR from a saved encoder, as JSON (the import test compares them with Pretext's)
  /usr/bin/python3 bench/peer/simclr_peer.py --layers [--reps 7] [shape, batch, precision, layout and threads as above]
      each convolution of the layout timed (forward, backward, batch norm + ReLU, inference), one JSON line (the peer side of
      `Pretext.Bench layers --peer`)
  /usr/bin/python3 bench/peer/simclr_peer.py --ntxent FILE
      NT-Xent of {"z1": [[..]], "z2": [[..]], "temperature": t} (the parity test against Pretext's loss)
"""
import argparse
import gzip
import json
import math
import os
import resource
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
MEAN, STD = 0.2860, 0.3530


# ---------------------------------------------------------------- data and views

def read_idx_images(folder, split='train'):
    """(N, 1, 28, 28) uint8 from the IDX file train-images-idx3-ubyte(.gz) in folder."""
    for name in (f'{split}-images-idx3-ubyte.gz', f'{split}-images-idx3-ubyte'):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with (gzip.open if path.endswith('.gz') else open)(path, 'rb') as f:
                raw = f.read()
            magic, n, rows, cols = struct.unpack('>IIII', raw[:16])
            if magic != 2051:
                raise ValueError(f'{path}: not an IDX image file (magic {magic})')
            return torch.frombuffer(bytearray(raw[16:16 + n * rows * cols]), dtype=torch.uint8).view(n, 1, rows, cols)
    raise FileNotFoundError(f'no {split}-images-idx3-ubyte(.gz) in {folder}: apt-get install dataset-fashion-mnist, or pass --data')


class RandomResizedCrop:
    """torchvision's RandomResizedCrop on a (C, H, W) float tensor: area in scale, log-uniform aspect ratio, 10 tries, then the centre."""

    def __init__(self, size, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)):
        self.size, self.scale, self.log_ratio = size, scale, (math.log(ratio[0]), math.log(ratio[1]))

    def __call__(self, img):
        _, h, w = img.shape
        area = h * w
        for _ in range(10):
            target = area * torch.empty(1).uniform_(*self.scale).item()
            r = math.exp(torch.empty(1).uniform_(*self.log_ratio).item())
            cw, ch = int(round(math.sqrt(target * r))), int(round(math.sqrt(target / r)))
            if 0 < cw <= w and 0 < ch <= h:
                i = torch.randint(0, h - ch + 1, (1,)).item()
                j = torch.randint(0, w - cw + 1, (1,)).item()
                break
        else:
            ch, cw = h, w
            i, j = 0, 0
        crop = img[:, i:i + ch, j:j + cw].unsqueeze(0)
        return F.interpolate(crop, size=(self.size, self.size), mode='bilinear', align_corners=False).squeeze(0)


def jitter(img, brightness=0.4, contrast=0.4, p=0.8):
    """torchvision's ColorJitter(brightness, contrast) applied with probability p (RandomApply), the two in random order."""
    if torch.rand(1).item() >= p:
        return img
    b = torch.empty(1).uniform_(1 - brightness, 1 + brightness).item()
    c = torch.empty(1).uniform_(1 - contrast, 1 + contrast).item()
    ops = [lambda t: (t * b).clamp_(0, 1), lambda t: ((t - t.mean()) * c + t.mean()).clamp_(0, 1)]
    for k in torch.randperm(2).tolist():
        img = ops[k](img)
    return img


class SimCLRViews(torch.utils.data.Dataset):
    """Two augmented views of each image, made per sample (the DataLoader workers run this)."""

    def __init__(self, images, size=28):
        self.images, self.crop = images, RandomResizedCrop(size)

    def __len__(self):
        return len(self.images)

    def view(self, img):
        x = self.crop(img.float().div_(255))
        if torch.rand(1).item() < 0.5:
            x = x.flip(-1)
        return (jitter(x) - MEAN) / STD

    def __getitem__(self, i):
        img = self.images[i]
        return self.view(img), self.view(img)


# ---------------------------------------------------------------- model

class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers and an identity or 1x1 conv-BN shortcut, under torchvision's names (conv1, bn1, conv2, bn2,
    downsample.0/.1), the names `pretext export` gives the ResNet, so a saved state_dict imports with `pretext import`."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """ResNet for small images: 3x3 stride-1 stem, no max-pool, stride 2 at the start of every stage after the first.
    Named as the exported module (pretext_model.ResNet: conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, ...), but it
    reads standardised images, as a PyTorch user's transforms produce them, where the exported module standardises itself."""

    def __init__(self, widths, blocks, in_channels=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.stages = len(widths)
        cin = widths[0]
        for s, (w, n) in enumerate(zip(widths, blocks)):
            layer = []
            for b in range(n):
                layer.append(BasicBlock(cin, w, 2 if s > 0 and b == 0 else 1))
                cin = w
            setattr(self, f'layer{s + 1}', nn.Sequential(*layer))
        self.feature_dim = widths[-1]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for s in range(self.stages):
            x = getattr(self, f'layer{s + 1}')(x)
        return x.mean((2, 3))


class SimCLR(nn.Module):
    def __init__(self, encoder, projection_dim=128):
        super().__init__()
        d = encoder.feature_dim
        self.encoder = encoder
        self.projector = nn.Sequential(nn.Linear(d, d, bias=False), nn.BatchNorm1d(d), nn.ReLU(), nn.Linear(d, projection_dim))

    def forward(self, x):
        return self.projector(self.encoder(x))


def nt_xent(z1, z2, temperature):
    """NT-Xent (Chen et al. 2020, eq. 1) over the 2N embeddings, mean over all 2N anchors, in fp32."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    logits = (z @ z.t()) / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), float('-inf'))
    targets = (torch.arange(2 * n) + n) % (2 * n)
    return F.cross_entropy(logits, targets)


class LARS(torch.optim.Optimizer):
    """SGD momentum with the trust ratio eta*||w||/||g + wd*w|| (You et al. 2017) on groups with lars=True."""

    def __init__(self, params, lr, momentum=0.9, weight_decay=1e-6, eta=0.001):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta, lars=True))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g['params']:
                if p.grad is None:
                    continue
                d = p.grad.add(p, alpha=g['weight_decay']) if g['weight_decay'] > 0 else p.grad
                if g['lars']:
                    w_norm, d_norm = p.norm(), d.norm()
                    d = d * torch.where((w_norm > 0) & (d_norm > 0), g['eta'] * w_norm / d_norm, torch.ones_like(w_norm))
                state = self.state[p]
                buf = state.get('momentum')
                if buf is None:
                    buf = state['momentum'] = torch.zeros_like(p)
                buf.mul_(g['momentum']).add_(d)
                p.add_(buf, alpha=-g['lr'])


def train_step(model, opt, loader, it, fmt, bf16, lr, temperature, step):
    """One SimCLR step on the loader's next pair of views (a new pass over the data when it runs out): returns the iterator and the loss."""
    try:
        v1, v2 = next(it)
    except StopIteration:
        it = iter(loader)
        v1, v2 = next(it)
    v1, v2 = v1.to(memory_format=fmt), v2.to(memory_format=fmt)
    for g in opt.param_groups:
        g['lr'] = lr
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        z1, z2 = model(v1), model(v2)
    loss = nt_xent(z1, z2, temperature)
    if not math.isfinite(loss.item()):
        raise SystemExit(f'error: loss became {loss.item()} at step {step}')
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return it, loss


def warmup_cosine(step, base_lr, warmup, total):
    if warmup > 0 and step < warmup:
        return base_lr * (step + 1) / warmup
    t = min(max((step - warmup) / max(1, total - warmup), 0.0), 1.0)
    return base_lr * 0.5 * (1 + math.cos(math.pi * t))


# ---------------------------------------------------------------- modes

def peak_rss_mb(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss / 1024  # ru_maxrss is in KB on Linux


def cpu_seconds():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def layout(a):
    """--widths and --blocks as lists of stages, refused when their lengths differ."""
    widths, blocks = [int(v) for v in a.widths.split(',')], [int(v) for v in a.blocks.split(',')]
    if len(widths) != len(blocks):
        raise SystemExit(f'error: --widths ({len(widths)}) and --blocks ({len(blocks)}) need the same number of stages')
    return widths, blocks


def setup(a, widths, blocks, fmt):
    """The two-view loader of the training images, the SimCLR model in memory format fmt, LARS (no decay or adaptation on
    biases and norms) and the number of training images: what the throughput and the pretraining modes share."""
    images = read_idx_images(a.data)
    loader = torch.utils.data.DataLoader(SimCLRViews(images), batch_size=a.batch, shuffle=True, drop_last=True,
                                         num_workers=a.workers)
    model = SimCLR(ResNet(widths, blocks)).to(memory_format=fmt)
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    opt = LARS([dict(params=decay), dict(params=no_decay, weight_decay=0.0, lars=False)], lr=a.lr)
    return loader, model, opt, len(images)


def train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    widths, blocks = layout(a)
    bf16 = a.precision.lower() == 'bfloat16'
    channels_last = a.layout.lower() == 'channelslast'
    fmt = torch.channels_last if channels_last else torch.contiguous_format

    loader, model, opt, n_images = setup(a, widths, blocks, fmt)
    steps_per_epoch = n_images // a.batch
    total = 5 * steps_per_epoch
    warmup = round(0.5 * steps_per_epoch)

    model.train()
    step_ms = []
    it = iter(loader)
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        it, loss = train_step(model, opt, loader, it, fmt, bf16, warmup_cosine(step, a.lr, warmup, total), a.temperature, step)
        if step >= a.warmup:
            step_ms.append(1000 * (time.perf_counter() - t0))
    del it  # shuts the workers down and reaps them, so their CPU time and memory show in RUSAGE_CHILDREN

    median = sorted(step_ms)[len(step_ms) // 2]  # the element StepBench.cs takes (upper median)
    print(json.dumps(dict(
        bench='simclr_step_peer',
        samples_per_second=round(a.batch * 1000 / median, 1),
        step_ms=round(median, 1),
        peak_rss_mb=round(peak_rss_mb()),
        threads=a.threads, batch=a.batch,
        widths='-'.join(map(str, widths)), blocks='-'.join(map(str, blocks)),
        precision='BFloat16' if bf16 else 'Float32', layout='ChannelsLast' if channels_last else 'Contiguous',
        steps_measured=len(step_ms), data='fashion-mnist' if os.path.abspath(a.data) == FASHION_MNIST else a.data,
        cpu_seconds=round(cpu_seconds(), 2),
        workers=a.workers,
        peak_rss_workers_mb=round(peak_rss_mb(resource.RUSAGE_CHILDREN)) if a.workers > 0 else 0,
        last_loss=round(loss.item(), 4),
        blas=blas_library(),
        torch=torch.__version__,
    )))


def save_encoder(encoder, path):
    """The encoder's state_dict as torch.save writes it (what most PyTorch code saves; `pretext import` reads it), tensors
    made contiguous fp32 NCHW so the file does not depend on --layout, written to a temporary name and renamed."""
    state = {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in encoder.state_dict().items()}
    tmp = path + '.tmp'
    torch.save(state, tmp)
    os.replace(tmp, path)


def write_json_atomic(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def pretrain(a):
    """Pretraining for time to accuracy: the preset's schedule (--epochs of warm-up then cosine, as in train()), cut to what fits
    in --minutes as `pretext pretrain --minutes` cuts it, run to its end or until --max-steps or --max-minutes of pretraining
    time, saving the encoder's state_dict every --save-every steps and/or every
    --save-every-minutes of pretraining time, and at the end. Pretraining time is the sum of the steps' times (from asking the
    loader for the batch to the end of the optimiser step, as the throughput mode and Pretext's Trainer clock it); time spent
    saving is left out. --out/manifest.json lists every save with its step and cumulative pretraining seconds, rewritten after
    each save, so a killed run keeps the saves made so far."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    widths, blocks = layout(a)
    if a.save_every <= 0 and a.save_every_minutes <= 0:
        raise SystemExit('error: pretraining needs --save-every STEPS or --save-every-minutes M (or both)')
    bf16 = a.precision.lower() == 'bfloat16'
    fmt = torch.channels_last if a.layout.lower() == 'channelslast' else torch.contiguous_format
    os.makedirs(a.out, exist_ok=True)
    manifest_path = os.path.join(a.out, 'manifest.json')
    if os.path.exists(manifest_path):
        raise SystemExit(f'error: {manifest_path} exists: this folder holds a peer run already; choose another --out')

    loader, model, opt, n_images = setup(a, widths, blocks, fmt)
    steps_per_epoch = n_images // a.batch
    total = max(1, round(a.epochs * steps_per_epoch))
    warmup = round(a.warmup_epochs * steps_per_epoch)
    last_step = total if a.max_steps <= 0 else min(total, a.max_steps)
    # --minutes: as `pretext pretrain --minutes`, time the steps rate_from+1..decide_at inside the learning-rate warm-up, then
    # cut the schedule to the steps that fit (5 % kept in hand), cosine over exactly those; steps already taken are unchanged.
    decide_at = max(1, min(min(max(warmup, 6), 100), a.save_every if a.save_every > 0 else 100, total - 1)) if a.minutes > 0 else -1
    rate_from, rate_from_seconds = decide_at // 3, 0.0
    manifest = dict(
        format='simclr-peer-checkpoints', version=1, torch=torch.__version__, blas=blas_library(),
        widths=widths, blocks=blocks, batch=a.batch, threads=a.threads, workers=a.workers, epochs=a.epochs,
        warmup_epochs=a.warmup_epochs, schedule_steps=total, lr=a.lr, temperature=a.temperature, seed=a.seed,
        precision='BFloat16' if bf16 else 'Float32', layout='ChannelsLast' if fmt == torch.channels_last else 'Contiguous',
        data=os.path.abspath(a.data), images=n_images, max_steps=a.max_steps, max_minutes=a.max_minutes, minutes=a.minutes,
        save_every=a.save_every, save_every_minutes=a.save_every_minutes,
        encoder_input='standardised images ((pixels in [0, 1] - %g) / %g)' % (MEAN, STD), saves=[])

    model.train()
    seconds, next_save_seconds, step, loss = 0.0, a.save_every_minutes * 60, 0, None
    it = iter(loader)
    while step < last_step:
        t0 = time.perf_counter()
        it, loss = train_step(model, opt, loader, it, fmt, bf16, warmup_cosine(step, a.lr, warmup, total), a.temperature, step)
        seconds += time.perf_counter() - t0
        step += 1
        if step == rate_from:
            rate_from_seconds = seconds
        if step == decide_at:
            per_step = (seconds - rate_from_seconds) / (decide_at - rate_from)
            fits = max(10, step + 1, int(a.minutes * 60 / (per_step * 1.05)))
            decision = f'time budget {a.minutes:g} min: {per_step:.3f} s/step over steps {rate_from + 1}-{decide_at}; '
            if fits < total:
                total = fits
                last_step = min(last_step, total)
                decision += f'schedule cut to {total} steps ({total / steps_per_epoch:.2f} epochs)'
            else:
                decision += f'the full {total} steps are kept'
            manifest['schedule_steps'], manifest['budget_decision'] = total, decision
            print(json.dumps(dict(decision=decision)), flush=True)
        out_of_time = a.max_minutes > 0 and seconds >= a.max_minutes * 60
        due = (a.save_every > 0 and step % a.save_every == 0) or (a.save_every_minutes > 0 and seconds >= next_save_seconds)
        if due or out_of_time or step == last_step:
            while a.save_every_minutes > 0 and next_save_seconds <= seconds:
                next_save_seconds += a.save_every_minutes * 60
            name = f'step-{step:08d}.pt'
            save_encoder(model.encoder, os.path.join(a.out, name))
            manifest['saves'].append(dict(step=step, pretrain_seconds=round(seconds, 3), epoch=round(step / steps_per_epoch, 3),
                                          loss=round(loss.item(), 5), lr=opt.param_groups[0]['lr'], file=name))
            write_json_atomic(manifest_path, manifest)
            print(json.dumps(dict(saved=name, step=step, pretrain_minutes=round(seconds / 60, 2), loss=round(loss.item(), 4))), flush=True)
        if out_of_time:
            break
    del it
    print(json.dumps(dict(bench='simclr_pretrain_peer', steps=step, schedule_steps=total, pretrain_seconds=round(seconds, 1),
                          saves=len(manifest['saves']), out=a.out, cpu_seconds=round(cpu_seconds(), 2))), flush=True)


def embed(a):
    """Features of the first --count images of --data from the encoder in the state_dict file --embed (eval mode, fp32,
    standardised as in training), as {"features": [[...], ...]} on stdout: the import test compares them with Pretext's."""
    torch.set_num_threads(a.threads)
    encoder = ResNet(*layout(a))
    encoder.load_state_dict(torch.load(a.embed))
    encoder.eval()
    x = (read_idx_images(a.data)[:a.count].float() / 255 - MEAN) / STD
    with torch.no_grad():
        features = encoder(x)
    print(json.dumps(dict(features=features.tolist())))


def blas_library():
    """The BLAS shared library this process mapped (torch's fp32 matmuls run there): Debian's reference libblas unless
    OpenBLAS (which libtorch1.13 recommends) is installed."""
    torch.ones(2, 2) @ torch.ones(2, 2)
    try:
        with open('/proc/self/maps') as f:
            names = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
        return ' '.join(sorted(os.path.basename(n) for n in names)) or 'none mapped'
    except OSError:
        return 'unknown'


def rate(fn, flops, seconds):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return flops * n / (time.perf_counter() - t0) / 1e9


def gemm(a):
    """The MFU denominator at the chosen precision, in GFLOP/s: the better of a square matmul (BLAS in fp32, oneDNN in bf16)
    and a 3x3 convolution of the widest ResNet stage's shape (oneDNN), so the peak is the best this PyTorch reaches
    on the dense kernels the step is made of."""
    torch.set_num_threads(a.threads)
    dtype = torch.bfloat16 if a.precision.lower() == 'bfloat16' else torch.float32
    fmt = torch.channels_last if a.layout.lower() == 'channelslast' else torch.contiguous_format
    x, y = torch.randn(a.size, a.size).to(dtype), torch.randn(a.size, a.size).to(dtype)
    mm = rate(lambda: x @ y, 2 * a.size ** 3, a.seconds / 2)
    c, b, hw = 256, 64, 7
    img = torch.randn(b, c, hw, hw).to(dtype).to(memory_format=fmt)
    w = torch.randn(c, c, 3, 3).to(dtype).to(memory_format=fmt)
    conv = rate(lambda: F.conv2d(img, w, padding=1), 2 * b * c * c * 9 * hw * hw, a.seconds / 2)
    print(json.dumps(dict(bench='gemm_peer', gflops=round(max(mm, conv), 1), matmul_gflops=round(mm, 1), conv_gflops=round(conv, 1),
                          size=a.size, precision='BFloat16' if dtype == torch.bfloat16 else 'Float32',
                          layout='ChannelsLast' if fmt == torch.channels_last else 'Contiguous', threads=a.threads,
                          blas=blas_library())))


def conv_layers(widths, blocks, in_channels=1, size=28):
    """The convolutions of the ResNet above in forward order: (name, in, out, kernel, stride, input side)."""
    out = lambda side, k, stride: (side + 2 * (k // 2) - k) // stride + 1
    layers = [('conv1', in_channels, widths[0], 3, 1, size)]
    side, c = size, widths[0]
    for s, (w, n) in enumerate(zip(widths, blocks)):
        for b in range(n):
            stride = 2 if s > 0 and b == 0 else 1
            layers.append((f'layer{s + 1}.{b}.conv1', c, w, 3, stride, side))
            o = out(side, 3, stride)
            layers.append((f'layer{s + 1}.{b}.conv2', w, w, 3, 1, o))
            if stride != 1 or c != w:
                layers.append((f'layer{s + 1}.{b}.downsample.0', c, w, 1, stride, side))
            side, c = o, w
    return layers


def layer_times(a):
    """Each convolution of the layout at one view's batch, as `Pretext.Bench layers` times it (LayerBench.cs): the training
    forward, its backward (the stem's input needs no gradient), training batch norm + ReLU forward and backward, and the
    inference conv with a bias (the folded batch norm) + ReLU under no_grad; tensors in the compute dtype and memory format,
    the median of --reps timed calls after one untimed call, in milliseconds."""
    torch.set_num_threads(a.threads)
    widths, blocks = layout(a)
    dtype = torch.bfloat16 if a.precision.lower() == 'bfloat16' else torch.float32
    fmt = torch.channels_last if a.layout.lower() == 'channelslast' else torch.contiguous_format

    def median(timed):
        timed()
        t = sorted(timed() for _ in range(a.reps))
        return t[len(t) // 2]

    def clock(fn):
        t0 = time.perf_counter()
        fn()
        return 1000 * (time.perf_counter() - t0)

    rows = []
    for name, cin, cout, k, stride, side in conv_layers(widths, blocks):
        o = (side + 2 * (k // 2) - k) // stride + 1
        x = torch.randn(a.batch, cin, side, side).to(dtype).to(memory_format=fmt).requires_grad_(name != 'conv1')
        w = (torch.randn(cout, cin, k, k) * 0.05).to(dtype).to(memory_format=fmt).requires_grad_(True)
        bias = torch.zeros(cout, dtype=dtype)
        gamma, beta = torch.ones(cout, requires_grad=True), torch.zeros(cout, requires_grad=True)
        run_mean, run_var = torch.zeros(cout), torch.ones(cout)
        grad = torch.randn(a.batch, cout, o, o).to(dtype).to(memory_format=fmt)
        conv = lambda: F.conv2d(x, w, stride=stride, padding=k // 2)

        def clear():
            for t in (x, w, gamma, beta):
                t.grad = None

        def backward():
            y = conv()
            clear()
            return clock(lambda: y.backward(grad))
        y0 = conv().detach().requires_grad_(True)
        norm = lambda: F.relu(F.batch_norm(y0, run_mean, run_var, gamma, beta, training=True))

        def norm_backward():
            h = norm()
            y0.grad = None
            clear()
            return clock(lambda: h.backward(grad))
        with torch.no_grad():
            xe, we = x.detach(), w.detach()
            eval_ms = median(lambda: clock(lambda: F.relu(F.conv2d(xe, we, bias, stride=stride, padding=k // 2))))
        rows.append(dict(name=name, **{'in': cin}, out=cout, kernel=k, stride=stride, side=side,
                         conv_fwd_ms=round(median(lambda: clock(conv)), 3), conv_bwd_ms=round(median(backward), 3),
                         bn_relu_fwd_ms=round(median(lambda: clock(norm)), 3), bn_relu_bwd_ms=round(median(norm_backward), 3),
                         eval_ms=round(eval_ms, 3)))
    print(json.dumps(dict(bench='layers', side='peer', layers=rows, widths='-'.join(map(str, widths)), blocks='-'.join(map(str, blocks)),
                          batch=a.batch, threads=a.threads, precision='BFloat16' if dtype == torch.bfloat16 else 'Float32',
                          layout='ChannelsLast' if fmt == torch.channels_last else 'Contiguous', torch=torch.__version__,
                          load_average=' '.join(open('/proc/loadavg').read().split()[:3]))))


def ntxent_file(path):
    with open(path) as f:
        spec = json.load(f)
    z1, z2 = torch.tensor(spec['z1'], dtype=torch.float32), torch.tensor(spec['z2'], dtype=torch.float32)
    print(json.dumps(dict(loss=nt_xent(z1, z2, spec['temperature']).item())))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--widths', default='32,64,128,256')
    p.add_argument('--blocks', default='1,1,1,1')
    p.add_argument('--precision', default='Float32', choices=['Float32', 'BFloat16', 'float32', 'bfloat16'])
    p.add_argument('--layout', default='ChannelsLast', choices=['ChannelsLast', 'Contiguous', 'channelslast', 'contiguous'])
    p.add_argument('--batch', type=int, default=256)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--workers', type=int, default=1, help='DataLoader worker processes making the views (0: in the training process)')
    p.add_argument('--lr', type=float, default=2.4)
    p.add_argument('--temperature', type=float, default=0.2)
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--data', default=FASHION_MNIST, help='folder with train-images-idx3-ubyte(.gz)')
    p.add_argument('--gemm', action='store_true', help='measure the matmul rate instead of training')
    p.add_argument('--size', type=int, default=1024)
    p.add_argument('--seconds', type=float, default=2.0)
    p.add_argument('--ntxent', metavar='FILE', help='print NT-Xent of the embeddings in FILE instead of training')
    p.add_argument('--out', help='pretrain for time to accuracy, saving the encoder and manifest.json into this folder')
    p.add_argument('--epochs', type=float, default=5, help='schedule length in epochs (the preset: 5; warm-up then cosine over them)')
    p.add_argument('--warmup-epochs', type=float, default=0.5)
    p.add_argument('--max-steps', type=int, default=0, help='with --out: stop after this many steps (0: the whole schedule)')
    p.add_argument('--max-minutes', type=float, default=0, help='with --out: stop after this much pretraining time (0: no limit)')
    p.add_argument('--minutes', type=float, default=0,
                   help='with --out: time budget as `pretext pretrain --minutes`: cut the schedule to the steps that fit (0: none)')
    p.add_argument('--save-every', type=int, default=0, help='with --out: save the encoder every this many steps')
    p.add_argument('--save-every-minutes', type=float, default=0, help='with --out: save every this many minutes of pretraining time')
    p.add_argument('--embed', metavar='STATE', help='print the features of the first --count images of --data from this saved encoder')
    p.add_argument('--count', type=int, default=8)
    p.add_argument('--layers', action='store_true', help='time each convolution of the layout (forward, backward, batch norm + ReLU, inference)')
    p.add_argument('--reps', type=int, default=7, help='with --layers: timed calls per figure (the median is printed)')
    a = p.parse_args(argv)
    if a.ntxent:
        ntxent_file(a.ntxent)
    elif a.embed:
        embed(a)
    elif a.out:
        if a.batch < 2 or a.threads < 1:
            raise SystemExit('error: --batch >= 2 and --threads >= 1')
        pretrain(a)
    elif a.gemm:
        gemm(a)
    elif a.layers:
        if a.batch < 1 or a.reps < 1 or a.threads < 1:
            raise SystemExit('error: --batch, --reps and --threads must be at least 1')
        layer_times(a)
    else:
        if a.steps < 1 or a.batch < 2 or a.threads < 1:
            raise SystemExit('error: --steps >= 1, --batch >= 2 and --threads >= 1')
        train(a)


if __name__ == '__main__':
    main()
