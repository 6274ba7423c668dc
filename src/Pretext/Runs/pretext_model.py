"""A Pretext encoder as a plain PyTorch module, written by `pretext export --format pytorch`.

Needs PyTorch 1.13 or later and nothing else (no numpy, no safetensors package). Beside this file:

  config.json        the architecture ("module", "arguments") and what the encoder reads ("input")
  model.safetensors  the weights in fp32 under this module's state_dict names

    import pretext_model
    encoder = pretext_model.load("export-dir")   # built from config.json, weights loaded, eval mode
    with torch.no_grad():
        features = encoder(x)                     # (B, ...) -> (B, feature_dim)

Inputs, by "input.kind" in config.json:
  image  (B, C, H, W) float pixels in [0, 1]; the module normalises them itself with the mean and std of config.json.
  table  (B, F) float rows encoded as encode_rows() does (standardised numbers, missing indicators, category codes).
  text   (B, L) int64 token ids of Pretext's tokenizer (tokenizer.json): [CLS] ... [SEP], padded with pad_id.

Train it further in PyTorch, then save_weights(encoder, "trained.safetensors") and bring it back with
`pretext import --from export-dir --weights trained.safetensors --run-dir DIR`.

Run as a script it embeds a file: python3 pretext_model.py INPUTS.safetensors FEATURES.safetensors [--weights FILE]
reads the tensor "inputs" and writes "features".
"""
import ctypes
import json
import math
import os
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

FORMAT = "pretext-pytorch"
FORMAT_VERSION = 1

_DTYPES = {
    "F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def read_safetensors(path):
    """Every tensor of a safetensors file, by name (the format: 8-byte little-endian header length, JSON header, data)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than its header length)")
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    start = 8 + n
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES[entry["dtype"]]
        a, b = entry["data_offsets"]
        flat = torch.frombuffer(bytearray(data[start + a:start + b]), dtype=dtype) if b > a else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry["shape"])
    return tensors


def write_safetensors(path, tensors, metadata=None):
    """Writes tensors (name -> tensor) as safetensors, row-major, atomically (temporary file, then rename)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        blob = ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()) if t.numel() > 0 else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers and an identity or 1x1 conv-BN shortcut (He et al. 2016), torchvision's names."""

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


def _register_normalisation(module, in_channels, mean, std):
    """The data's per-channel mean and std as buffers outside the state_dict: they come from config.json, as they come
    from the run config in Pretext, and images are normalised inside forward."""
    mean = [0.0] * in_channels if mean is None else mean
    std = [1.0] * in_channels if std is None else std
    module.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
    module.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)


class ResNet(nn.Module):
    """Pretext's small-image ResNet: 3x3 stride-1 stem, no max-pool, a stage per width (stride 2 after the first),
    global average pooling. Input (B, C, H, W) pixels in [0, 1], normalised here; output (B, widths[-1])."""

    def __init__(self, in_channels, widths, blocks, mean=None, std=None):
        super().__init__()
        _register_normalisation(self, in_channels, mean, std)
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.stages = len(widths)
        cin = widths[0]
        for s, (width, count) in enumerate(zip(widths, blocks)):
            layer = []
            for b in range(count):
                layer.append(BasicBlock(cin, width, 2 if s > 0 and b == 0 else 1))
                cin = width
            setattr(self, f"layer{s + 1}", nn.Sequential(*layer))
        self.feature_dim = widths[-1]

    def forward(self, images):
        x = (images - self.mean) / self.std
        x = F.relu(self.bn1(self.conv1(x)))
        for s in range(self.stages):
            x = getattr(self, f"layer{s + 1}")(x)
        return x.mean(dim=(2, 3))


def _mlp(width, hidden, dropout=0.0):
    """Linear-BN-ReLU(-Dropout) layers named fc0, bn0, act0, drop0, fc1, ..."""
    layers = OrderedDict()
    for i, h in enumerate(hidden):
        layers[f"fc{i}"] = nn.Linear(width, h)
        layers[f"bn{i}"] = nn.BatchNorm1d(h)
        layers[f"act{i}"] = nn.ReLU()
        if dropout > 0:
            layers[f"drop{i}"] = nn.Dropout(dropout)
        width = h
    return nn.Sequential(layers)


class ImageMlp(nn.Module):
    """Pretext's image MLP: the normalised image flattened, then Linear-BN-ReLU layers.
    Input (B, C, H, W) pixels in [0, 1], normalised here; output (B, hidden[-1])."""

    def __init__(self, in_channels, image_size, hidden, mean=None, std=None):
        super().__init__()
        _register_normalisation(self, in_channels, mean, std)
        self.body = _mlp(in_channels * image_size * image_size, hidden)
        self.feature_dim = hidden[-1]

    def forward(self, images):
        return self.body(((images - self.mean) / self.std).flatten(1))


class TableMlp(nn.Module):
    """Pretext's table MLP: standardised numbers and missing indicators, one embedding per categorical column
    (codes out of range fall into the unknown bucket 0), then Linear-BN-ReLU(-Dropout) layers.
    Input (B, 2 numeric + categorical) as encode_rows() lays it out; output (B, hidden[-1])."""

    def __init__(self, numeric, cardinalities, embedding_widths, hidden, dropout=0.0):
        super().__init__()
        self.numeric = numeric
        self.cardinalities = list(cardinalities)
        self.embeddings = nn.ModuleList([nn.Embedding(c, w) for c, w in zip(cardinalities, embedding_widths)])
        self.body = _mlp(2 * numeric + sum(embedding_widths), hidden, dropout)
        self.feature_dim = hidden[-1]

    def forward(self, x):
        n = 2 * self.numeric
        parts = [x[:, :n]] if n > 0 else []
        for k, (embedding, cardinality) in enumerate(zip(self.embeddings, self.cardinalities)):
            codes = x[:, n + k].round().long()
            codes = torch.where((codes >= 0) & (codes < cardinality), codes, torch.zeros_like(codes))
            parts.append(embedding(codes))
        return self.body(torch.cat(parts, 1))


def encode_rows(config, rows):
    """(B, F) float input of TableMlp for rows given as dicts column name -> value (None or a missing key: missing),
    with the encoding Pretext fitted on the training rows (config.json's input.encoding)."""
    enc = config["input"]["encoding"]
    numeric, categorical = enc["numeric_names"], enc["categorical_names"]
    codes = [{value: i + 1 for i, value in enumerate(vocabulary)} for vocabulary in enc["vocabularies"]]
    nn_, out = len(numeric), []
    for row in rows:
        x = [0.0] * (2 * nn_ + len(categorical))
        for k, name in enumerate(numeric):
            v = row.get(name)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                x[nn_ + k] = 1.0
            else:
                x[k] = (float(v) - enc["mean"][k]) / enc["std"][k]
        for k, name in enumerate(categorical):
            v = row.get(name)
            x[2 * nn_ + k] = float(codes[k].get(str(v), 0)) if v is not None else 0.0
        out.append(x)
    return torch.tensor(out, dtype=torch.float32).view(len(rows), -1)


class SelfAttention(nn.Module):
    """Multi-head self-attention with one fused qkv projection; masked keys get no weight."""

    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        scores = scores.masked_fill(~mask, float("-inf"))
        o = self.drop(scores.softmax(-1)) @ v
        return self.proj(o.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """Pre-LN Transformer block: x + attn(norm1(x)), then x + fc2(gelu(fc1(norm2(x))))."""

    def __init__(self, dim, heads, mlp_ratio, dropout, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = SelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.fc1 = nn.Linear(dim, dim * mlp_ratio)
        self.fc2 = nn.Linear(dim * mlp_ratio, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        x = x + self.drop(self.attn(self.norm1(x), mask))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.norm2(x)))))


class TextTransformer(nn.Module):
    """Pretext's text Transformer: token and learned position embeddings, pre-LN blocks masking padded keys (and later
    positions when causal), a final layer norm, pooled by mean over non-pad tokens, [CLS] or the last non-pad token.
    Input (B, L) int64 ids, L <= max_length; output (B, dim)."""

    def __init__(self, vocab_size, max_length, pad_id, dim, depth, heads, mlp_ratio, dropout=0.0, pooling="mean", causal=False, layer_norm_eps=1e-5):
        super().__init__()
        self.pad_id, self.pooling, self.causal = pad_id, pooling, causal
        self.tokens = nn.Embedding(vocab_size, dim)
        self.positions = nn.Parameter(torch.zeros(max_length, dim))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio, dropout, layer_norm_eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=layer_norm_eps)
        self.feature_dim = dim

    def forward(self, ids):
        b, length = ids.shape
        keep = ids != self.pad_id
        mask = keep.view(b, 1, 1, length)
        if self.causal:
            mask = mask & torch.ones(length, length, dtype=torch.bool, device=ids.device).tril()
        x = self.drop(self.tokens(ids) + self.positions[:length])
        for block in self.blocks:
            x = block(x, mask)
        x = self.norm(x)
        if self.pooling == "cls":
            return x[:, 0]
        if self.pooling == "last":
            last = (torch.arange(length, device=ids.device).view(1, length) * keep.long()).amax(1)
            return x[torch.arange(b, device=ids.device), last]
        m = keep.to(x.dtype).unsqueeze(-1)
        return (x * m).sum(1) / m.sum(1).clamp_min(1)


_MODULES = {"ResNet": ResNet, "ImageMlp": ImageMlp, "TableMlp": TableMlp, "TextTransformer": TextTransformer}


def read_config(directory):
    """config.json of an export folder, checked to be one."""
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    if config.get("format") != FORMAT or config.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{directory}/config.json is not a {FORMAT} v{FORMAT_VERSION} export of a Pretext encoder")
    return config


def build(config):
    """A new module of the architecture config.json describes (weights from torch's initialisers)."""
    arguments = dict(config["arguments"])
    if config["input"]["kind"] == "image":
        arguments["mean"], arguments["std"] = config["input"]["mean"], config["input"]["std"]
    return _MODULES[config["module"]](**arguments)


def load(directory=None, weights=None):
    """The exported encoder, weights loaded (strictly: a missing or unexpected name is an error), in eval mode."""
    directory = directory or os.path.dirname(os.path.abspath(__file__))
    model = build(read_config(directory))
    model.load_state_dict(read_safetensors(weights or os.path.join(directory, "model.safetensors")))
    return model.eval()


def save_weights(model, path):
    """The module's state_dict as safetensors, the file `pretext import --weights` reads."""
    write_safetensors(path, {k: (v.float() if v.is_floating_point() else v) for k, v in model.state_dict().items()}, {"format": FORMAT})


def _main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--weights"):
        print("usage: python3 pretext_model.py INPUTS.safetensors FEATURES.safetensors [--weights FILE]", file=sys.stderr)
        return 2
    model = load(weights=argv[3] if len(argv) == 4 else None)
    inputs = read_safetensors(argv[0])["inputs"]
    with torch.no_grad():
        features = model(inputs)
    write_safetensors(argv[1], {"features": features.float()})
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
