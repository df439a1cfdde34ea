#!/usr/bin/python3
"""The reference approach to editing in Python PyTorch eager, for `vitedit perf` to race against.

What the paper's PyTorch code does for every edit step: a full eager forward of the whole ViT,
a full autograd backward (autograd stops at the lowest leaf that requires a gradient: the edit
sites), the site gradients multiplied by their neuron masks, then torch.optim.RMSprop.
Evaluation is a plain forward per image batch. It is the twin of bin/vitedit-torch-reference
(LibTorch in C++) and reads and writes the same files, so that `vitedit perf` can put vitedit,
LibTorch and Python PyTorch side by side on the same weights, image and mask.

With --dtype float64 it runs the same steps in double precision: the *true* edited weights that
both f32 implementations approximate (how `vitedit perf --f64-check` tells rounding from bugs).

Input (written by `vitedit perf` into --dir): model.safetensors, edit.safetensors
("image", "label", "eval", "mask.<site>"). Output (into --dir): PREFIX.safetensors (the site
weights after --steps steps, f32) and PREFIX.json (step times, losses, evaluation throughput).

Needs only Debian's python3-torch (and python3-numpy, its dependency); safetensors is parsed
here because python3-safetensors is not packaged for Debian 12.

With --edit-command it is instead the whole `vitedit edit ... --patch` done the PyTorch way, for
`vitedit perf` to time from a cold process against the vitedit command: load the model (the
`safetensors` package where it imports, else the reader here), read the image (binary PGM/PPM at
the model's size), locate like vitedit's `saliency` (|gradient x weight| per neuron, normalized
per site, the top --sparsity of all site neurons), --steps RMSprop steps as above, and save the
changed neurons' old and new values. Prints one JSON object with its phases' seconds.
"""
import time

START = time.perf_counter()  # before the imports: torch's takes a second of a cold start

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F64": np.float64}



def own_peak_rss_mb():
    """This process image's peak resident memory (VmHWM, reset by exec; ru_maxrss would still
    count the vitedit process this one was forked from)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, h in header.items():
        if h["dtype"] not in DTYPES:
            raise SystemExit(f"{path}: tensor '{name}' has dtype {h['dtype']} (this script reads F32)")
        b, e = h["data_offsets"]
        a = np.frombuffer(data[b:e], dtype=DTYPES[h["dtype"]]).reshape(h["shape"])
        tensors[name] = torch.from_numpy(a.astype(np.float32))
    return tensors, meta


def load_model(path):
    """The safetensors package's loader where it is installed, else read_safetensors."""
    try:
        from safetensors import safe_open
        from safetensors.torch import load_file
    except ImportError:
        return read_safetensors(path)
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    return load_file(path), meta


def read_pnm(path, channels, mean, std):
    """A binary PGM (P5) or PPM (P6) image, 8-bit, as a normalized [1, C, H, W] f32 tensor."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval; whitespace-separated, '#' comments
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    magic, w, h = fields[0], int(fields[1]), int(fields[2])
    c = {b"P5": 1, b"P6": 3}.get(magic)
    if c is None or int(fields[3]) != 255:
        raise SystemExit(f"{path}: not an 8-bit binary PGM/PPM")
    if c != channels:
        raise SystemExit(f"{path}: {c} channels, the model has {channels}")
    x = np.frombuffer(data[pos + 1 : pos + 1 + w * h * c], dtype=np.uint8).reshape(h, w, c)
    x = torch.from_numpy(x.astype(np.float32) / 255.0).permute(2, 0, 1)
    m = torch.tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
    return ((x - m) / s).unsqueeze(0).contiguous()


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(tmp, path)


def vit_forward(w, heads, eps, patch, images):
    """timm's VisionTransformer forward (class token, pre-norm blocks, exact GELU)."""
    n = images.shape[0]
    x = F.conv2d(images, w["patch_embed.proj.weight"], w["patch_embed.proj.bias"], stride=patch)
    x = x.flatten(2).transpose(1, 2)
    d = x.shape[2]
    x = torch.cat([w["cls_token"].expand(n, 1, d), x], 1) + w["pos_embed"]
    hd = d // heads
    b = 0
    while f"blocks.{b}.norm1.weight" in w:
        p = f"blocks.{b}."
        h = F.layer_norm(x, (d,), w[p + "norm1.weight"], w[p + "norm1.bias"], eps)
        t = x.shape[1]
        qkv = F.linear(h, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"])
        q, k, v = qkv.reshape(n, t, 3, heads, hd).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd), -1)
        x = x + F.linear((att @ v).transpose(1, 2).reshape(n, t, d), w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
        h = F.layer_norm(x, (d,), w[p + "norm2.weight"], w[p + "norm2.bias"], eps)
        h = F.gelu(F.linear(h, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]))
        x = x + F.linear(h, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
        b += 1
    f = F.layer_norm(x[:, 0], (d,), w["norm.weight"], w["norm.bias"], eps)
    return F.linear(f, w["head.weight"], w["head.bias"])


def run_steps(fwd, w, sites, masks, image, label, steps, lr, losses=None):
    params = [w[s] for s in sites]
    opt = torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-8)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(fwd(w, image), label)
        loss.backward()
        with torch.no_grad():
            for p, m in zip(params, masks):
                p.grad.mul_(m)
        opt.step()
        times.append(time.perf_counter() - t0)
        if losses is not None:
            losses.append(loss.item())
    return times


def per_channel(text, channels):
    v = [float(x) for x in text.split(",")]
    return v * channels if len(v) == 1 else v


def edit_command(a):
    t0 = time.perf_counter()
    phases = {"import": t0 - START}
    mark = [t0]

    def phase(name):
        now = time.perf_counter()
        phases[name] = now - mark[0]
        mark[0] = now

    torch.set_num_threads(a.threads)
    w, meta = load_model(a.model)
    heads = int(meta.get("vitedit.num_heads", str(w["cls_token"].shape[-1] // 64)))
    eps = float(meta.get("vitedit.ln_eps", "1e-6"))
    patch = w["patch_embed.proj.weight"].shape[-1]
    channels = w["patch_embed.proj.weight"].shape[1]
    image = read_pnm(a.image, channels, per_channel(meta.get("vitedit.mean", "0.5"), channels),
                     per_channel(meta.get("vitedit.std", "0.5"), channels))
    label = torch.tensor([a.label])
    depth = 0
    while f"blocks.{depth}.norm1.weight" in w:
        depth += 1
    # vitedit's default edit blocks: the last two of models up to 8 deep, else three from 7*depth/12
    if 2 <= depth <= 8:
        blocks = [depth - 2, depth - 1]
    else:
        count = min(3, max(1, depth - 1))
        first = max(min(7 * depth // 12, depth - 1 - count), 0)
        blocks = list(range(first, first + count))
    sites = [f"blocks.{b}.mlp.{fc}.weight" for b in blocks for fc in ("fc1", "fc2")]
    for s in sites:
        w[s].requires_grad_(True)
    fwd = lambda ws, x: vit_forward(ws, heads, eps, patch, x)
    phase("load")

    loss = F.cross_entropy(fwd(w, image), label)
    loss.backward()
    scores = []
    for s in sites:  # fc1 [H, D]: a neuron is a row; fc2 [D, H]: a column
        sal = (w[s].grad * w[s]).detach().abs().sum(1 if "fc1" in s else 0)
        scores.append(sal / sal.mean() if sal.mean() > 0 else sal)
    flat = torch.cat(scores)
    keep = torch.zeros_like(flat)
    keep[torch.topk(flat, max(1, round(a.sparsity * flat.numel()))).indices] = 1
    masks, units, off = [], [], 0
    for s, sc in zip(sites, scores):
        m = keep[off : off + sc.numel()]
        off += sc.numel()
        units.append(m.nonzero().flatten())
        masks.append(m.reshape(-1, 1) if "fc1" in s else m.reshape(1, -1))
    old = {s: (w[s].detach()[u] if "fc1" in s else w[s].detach()[:, u]).clone() for s, u in zip(sites, units)}
    phase("locate")

    run_steps(fwd, w, sites, masks, image, label, a.steps, a.lr)
    phase("edit")

    out = {}
    for s, u in zip(sites, units):
        out[s + ".old"] = old[s]
        out[s + ".new"] = w[s].detach()[u] if "fc1" in s else w[s].detach()[:, u]
    write_safetensors(a.out, out)
    phase("write")
    phases["total"] = time.perf_counter() - START
    print(json.dumps({"phases": phases, "peak_rss_mb": own_peak_rss_mb(), "torch": torch.__version__,
                      "loader": "reader" if "safetensors" not in sys.modules else "safetensors"}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir")
    ap.add_argument("--edit-command", action="store_true", help="the whole edit command (see above)")
    ap.add_argument("--model")
    ap.add_argument("--image")
    ap.add_argument("--label", type=int, default=0)
    ap.add_argument("--sparsity", type=float, default=0.1)
    ap.add_argument("--out")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-batch", type=int, default=16)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--prefix", default="python")
    ap.add_argument("--no-eval", action="store_true", help="skip the evaluation timing")
    a = ap.parse_args()
    if a.edit_command:
        if not (a.model and a.image and a.out):
            ap.error("--edit-command needs --model, --image and --out")
        return edit_command(a)
    if not a.dir:
        ap.error("--dir is required")
    if a.steps < 1 or a.warmup < 0 or a.threads < 1 or a.eval_batch < 1:
        ap.error("steps, threads and eval-batch must be >= 1, warmup >= 0")
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    model, meta = read_safetensors(os.path.join(a.dir, "model.safetensors"))
    inp, _ = read_safetensors(os.path.join(a.dir, "edit.safetensors"))
    heads = int(meta.get("vitedit.num_heads", "12"))
    eps = float(meta.get("vitedit.ln_eps", "1e-6"))
    patch = model["patch_embed.proj.weight"].shape[-1]
    w = {k: v.to(dtype) for k, v in model.items()}
    image, label, evals = inp["image"].to(dtype), inp["label"].long(), inp["eval"].to(dtype)
    sites = sorted(k[5:] for k in inp if k.startswith("mask."))
    if not sites:
        sys.exit(f"{a.dir}/edit.safetensors has no mask.* tensors")
    # fc1 [H, D]: a neuron is a row; fc2 [D, H]: a column.
    masks = [inp["mask." + s].to(dtype).reshape(-1, 1) if "fc1" in s else inp["mask." + s].to(dtype).reshape(1, -1)
             for s in sites]
    fwd = lambda ws, x: vit_forward(ws, heads, eps, patch, x)

    if a.warmup > 0:  # on copies of the sites; the timed steps start from the original weights
        scratch = dict(w)
        for s in sites:
            scratch[s] = w[s].clone().requires_grad_(True)
        run_steps(fwd, scratch, sites, masks, image, label, a.warmup, a.lr)
    for s in sites:
        w[s] = w[s].clone().requires_grad_(True)
    losses = []
    step_s = run_steps(fwd, w, sites, masks, image, label, a.steps, a.lr, losses)

    eval_s = 0.0
    if not a.no_eval:
        with torch.no_grad():
            fwd(w, evals[: a.eval_batch])
            t0 = time.perf_counter()
            for s in range(0, evals.shape[0], a.eval_batch):
                fwd(w, evals[s : s + a.eval_batch]).argmax(1)
            eval_s = time.perf_counter() - t0
    write_safetensors(os.path.join(a.dir, a.prefix + ".safetensors"), {s: w[s] for s in sites})
    out = {"step_s": step_s, "loss": losses, "eval_images": evals.shape[0], "eval_s": eval_s,
           "eval_images_per_s": evals.shape[0] / eval_s if eval_s > 0 else None,
           "threads": torch.get_num_threads(), "torch": torch.__version__, "python": sys.version.split()[0],
           "peak_rss_mb": own_peak_rss_mb(),
           "dtype": a.dtype}
    tmp = os.path.join(a.dir, a.prefix + ".json.tmp")
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, os.path.join(a.dir, a.prefix + ".json"))


if __name__ == "__main__":
    main()
