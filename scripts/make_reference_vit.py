#!/usr/bin/python3
"""Builds a small random torchvision VisionTransformer and its PyTorch reference outputs.

Writes into --out-dir:
  tv.safetensors    the model under torchvision state_dict names
  hf.safetensors    the same weights under Hugging Face ViTForImageClassification names
  timm.safetensors  the same weights under timm (vitedit canonical) names
  img0.png ...      RGB test images of exactly the model's input size (no resize needed)
  expected.json     PyTorch's logits for each image, preprocessed as vitedit does:
                    PNG -> float in [0,1] -> (x - mean) / std -> model (float32 throughout)

Every file carries __metadata__ {"vitedit.num_heads", "vitedit.ln_eps", "vitedit.mean",
"vitedit.std"}. The safetensors format is written by hand (struct + json): no safetensors package.

Run with Debian's interpreter: /usr/bin/python3 scripts/make_reference_vit.py --out-dir DIR --seed S
"""
import argparse
import json
import os
import struct
import sys
import tempfile
import zlib

import numpy as np
import torch
import torchvision

MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
LN_EPS = 1e-6  # torchvision's VisionTransformer uses LayerNorm(eps=1e-6)


def write_atomic(path, data):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def safetensors_bytes(tensors, metadata):
    """tensors: dict name -> torch.Tensor (float32). Sorted names, 8-byte aligned header."""
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        raw = t.numpy().astype("<f4", copy=False).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = dict(metadata)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def tv_to_timm(sd, num_layers):
    out = {
        "cls_token": sd["class_token"],
        "pos_embed": sd["encoder.pos_embedding"],
        "patch_embed.proj.weight": sd["conv_proj.weight"],
        "patch_embed.proj.bias": sd["conv_proj.bias"],
        "norm.weight": sd["encoder.ln.weight"],
        "norm.bias": sd["encoder.ln.bias"],
        "head.weight": sd["heads.head.weight"],
        "head.bias": sd["heads.head.bias"],
    }
    for i in range(num_layers):
        s = "encoder.layers.encoder_layer_%d." % i
        b = "blocks.%d." % i
        for x in ("weight", "bias"):
            out[b + "norm1." + x] = sd[s + "ln_1." + x]
            out[b + "norm2." + x] = sd[s + "ln_2." + x]
            out[b + "attn.qkv." + x] = sd[s + "self_attention.in_proj_" + x]
            out[b + "attn.proj." + x] = sd[s + "self_attention.out_proj." + x]
            out[b + "mlp.fc1." + x] = sd[s + "mlp.0." + x]
            out[b + "mlp.fc2." + x] = sd[s + "mlp.3." + x]
    return out


def tv_to_hf(sd, num_layers):
    out = {
        "vit.embeddings.cls_token": sd["class_token"],
        "vit.embeddings.position_embeddings": sd["encoder.pos_embedding"],
        "vit.embeddings.patch_embeddings.projection.weight": sd["conv_proj.weight"],
        "vit.embeddings.patch_embeddings.projection.bias": sd["conv_proj.bias"],
        "vit.layernorm.weight": sd["encoder.ln.weight"],
        "vit.layernorm.bias": sd["encoder.ln.bias"],
        "classifier.weight": sd["heads.head.weight"],
        "classifier.bias": sd["heads.head.bias"],
    }
    for i in range(num_layers):
        s = "encoder.layers.encoder_layer_%d." % i
        b = "vit.encoder.layer.%d." % i
        for x in ("weight", "bias"):
            q, k, v = sd[s + "self_attention.in_proj_" + x].chunk(3, dim=0)
            out[b + "attention.attention.query." + x] = q
            out[b + "attention.attention.key." + x] = k
            out[b + "attention.attention.value." + x] = v
            out[b + "attention.output.dense." + x] = sd[s + "self_attention.out_proj." + x]
            out[b + "intermediate.dense." + x] = sd[s + "mlp.0." + x]
            out[b + "output.dense." + x] = sd[s + "mlp.3." + x]
            out[b + "layernorm_before." + x] = sd[s + "ln_1." + x]
            out[b + "layernorm_after." + x] = sd[s + "ln_2." + x]
    return out


def randomize(model, gen):
    """Random values everywhere (torchvision zero-inits the head, cls token and biases), scaled so
    that activations stay O(1) and the logits are spread out."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = p.shape
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "encoder.ln.weight":
                v = 1.0 + 0.3 * torch.randn(shape, generator=gen)
            elif name.endswith("bias"):
                v = 0.1 * torch.randn(shape, generator=gen)
            elif name in ("class_token", "encoder.pos_embedding"):
                v = 0.5 * torch.randn(shape, generator=gen)
            else:
                fan_in = int(np.prod(shape[1:]))
                v = torch.randn(shape, generator=gen) / np.sqrt(fan_in)
                if name == "heads.head.weight":
                    v = v * 3.0
            p.copy_(v)


def png_bytes(rgb):
    """rgb: uint8 array [H, W, 3]. A minimal valid PNG (8-bit RGB, filter 0 rows, zlib)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def make_image(rng, size, kind):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    if kind == 0:  # smooth colour gradients
        img = np.stack([xx, yy, 0.5 * (xx + yy)], axis=-1)
    elif kind == 1:  # a bright disc on a dark ground
        r = np.sqrt((xx - 0.5) ** 2 + (yy - 0.4) ** 2)
        img = np.stack([(r < 0.3) * 0.9, (r < 0.2) * 0.7, (r < 0.35) * 0.5], axis=-1)
    else:  # uniform noise
        img = rng.random((size, size, 3))
    img = img + 0.05 * rng.standard_normal((size, size, 3))
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--image-size", type=int, default=28)
    ap.add_argument("--patch-size", type=int, default=7)
    ap.add_argument("--num-layers", type=int, default=3)
    ap.add_argument("--num-heads", type=int, default=4)
    ap.add_argument("--hidden-dim", type=int, default=64)
    ap.add_argument("--mlp-dim", type=int, default=128)
    ap.add_argument("--num-classes", type=int, default=10)
    ap.add_argument("--num-images", type=int, default=4)
    args = ap.parse_args()
    if args.image_size % args.patch_size:
        sys.exit("--image-size must be a multiple of --patch-size")

    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    model = torchvision.models.VisionTransformer(
        image_size=args.image_size, patch_size=args.patch_size, num_layers=args.num_layers,
        num_heads=args.num_heads, hidden_dim=args.hidden_dim, mlp_dim=args.mlp_dim,
        num_classes=args.num_classes)
    randomize(model, gen)
    model = model.to(torch.float32).eval()
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}

    metadata = {
        "vitedit.num_heads": str(args.num_heads),
        "vitedit.ln_eps": "1e-06",
        "vitedit.mean": ",".join(str(m) for m in MEAN),
        "vitedit.std": ",".join(str(s) for s in STD),
    }
    files = {
        "tv.safetensors": sd,
        "hf.safetensors": tv_to_hf(sd, args.num_layers),
        "timm.safetensors": tv_to_timm(sd, args.num_layers),
    }
    for fname, tensors in files.items():
        write_atomic(os.path.join(args.out_dir, fname), safetensors_bytes(tensors, metadata))

    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    images = []
    for i in range(args.num_images):
        rgb = make_image(rng, args.image_size, i % 3)
        name = "img%d.png" % i
        write_atomic(os.path.join(args.out_dir, name), png_bytes(rgb))
        x = torch.from_numpy(rgb.astype(np.float32) / np.float32(255.0)).permute(2, 0, 1).unsqueeze(0)
        x = (x - mean) / std
        with torch.no_grad():
            logits = model(x)[0].to(torch.float32)
        images.append({
            "file": name,
            "logits": [float(v) for v in logits.tolist()],
            "argmax": int(logits.argmax().item()),
        })

    expected = {
        "seed": args.seed,
        "model": {
            "image_size": args.image_size, "patch_size": args.patch_size, "in_channels": 3,
            "num_layers": args.num_layers, "num_heads": args.num_heads, "hidden_dim": args.hidden_dim,
            "mlp_dim": args.mlp_dim, "num_classes": args.num_classes, "ln_eps": LN_EPS,
            "mean": list(MEAN), "std": list(STD),
        },
        "preprocess": "png -> float in [0,1] (x/255) -> (x - mean) / std; no resize",
        "files": sorted(files),
        "images": images,
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
    }
    write_atomic(os.path.join(args.out_dir, "expected.json"),
                 (json.dumps(expected, indent=2) + "\n").encode("utf-8"))
    print("wrote %d model files, %d images and expected.json to %s" % (len(files), len(images), args.out_dir))


if __name__ == "__main__":
    main()
