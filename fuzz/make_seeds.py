#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/<target>/ (small valid inputs of each format; a few KB per
target). Re-run after a format change; regression inputs from findings are added by hand."""
import json, os, struct, zlib, math

here = os.path.dirname(os.path.abspath(__file__))

def out(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def f16(x): return struct.pack("<e", x)
def bf16(x): return struct.pack("<f", x)[2:]

def safetensors(tensors, metadata=None):
    """tensors: name -> (dtype, shape, bytes)"""
    header, body = {}, b""
    for name, (dt, shape, data) in tensors.items():
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    if metadata: header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + body

def vals(n, enc=f16, scale=0.1):
    return b"".join(enc(math.sin(i) * scale) for i in range(n))

# ---- safetensors: a tiny timm ViT (depth 1, width 8, patch 4, 2x2 grid, 3 classes), F16
D, H, P, C, K = 8, 16, 4, 1, 3
def vit(prefix_map=lambda n: n, enc=f16, dt="F16"):
    t = {}
    def add(name, shape):
        n = 1
        for s in shape: n *= s
        t[prefix_map(name)] = (dt, shape, vals(n, enc))
    add("patch_embed.proj.weight", [D, C, P, P]); add("patch_embed.proj.bias", [D])
    add("cls_token", [1, 1, D]); add("pos_embed", [1, 5, D])
    for p in ["norm1", "norm2"]:
        add(f"blocks.0.{p}.weight", [D]); add(f"blocks.0.{p}.bias", [D])
    add("blocks.0.attn.qkv.weight", [3 * D, D]); add("blocks.0.attn.qkv.bias", [3 * D])
    add("blocks.0.attn.proj.weight", [D, D]); add("blocks.0.attn.proj.bias", [D])
    add("blocks.0.mlp.fc1.weight", [H, D]); add("blocks.0.mlp.fc1.bias", [H])
    add("blocks.0.mlp.fc2.weight", [D, H]); add("blocks.0.mlp.fc2.bias", [D])
    add("norm.weight", [D]); add("norm.bias", [D])
    add("head.weight", [K, D]); add("head.bias", [K])
    return t
meta = {"vitedit.num_heads": "2", "vitedit.ln_eps": "1e-6", "vitedit.mean": "0.5", "vitedit.std": "0.5",
        "vitedit.classes": "a,b,c"}
out("safetensors", "tiny-vit-f16.safetensors", safetensors(vit(), meta))
out("safetensors", "tiny-vit-bf16.safetensors", safetensors(vit(enc=bf16, dt="BF16")))
out("safetensors", "f32-scalar-empty.safetensors", safetensors({
    "a": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)), "s": ("F32", [], struct.pack("<f", 5)),
    "e": ("F32", [0, 3], b"")}, {"k": "v"}))
out("safetensors", "truncated.safetensors", safetensors(vit())[:200])

# ---- idx: images (first byte even) and labels (first byte odd)
imgs = struct.pack(">IIII", 0x803, 2, 3, 3) + bytes(range(18))
out("idx", "images.idx", b"\x00" + imgs)
out("idx", "labels.idx", b"\x01" + struct.pack(">II", 0x801, 4) + bytes([0, 9, 3, 1]))
out("idx", "bad-magic.idx", b"\x00" + struct.pack(">IIII", 0x0D03, 1, 2, 2) + bytes(4))

# ---- image: PNG (gray, RGB, RGBA, 16-bit), BMP, PGM, PPM, TGA
def png(w, h, color, depth, rows):
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
out("image", "gray.png", png(5, 4, 0, 8, [bytes((x * 40 + y * 7) % 256 for x in range(5)) for y in range(4)]))
out("image", "rgb.png", png(3, 3, 2, 8, [bytes((x * 50 + c * 30 + y) % 256 for x in range(3) for c in range(3)) for y in range(3)]))
out("image", "rgba.png", png(2, 2, 6, 8, [bytes(range(y * 8, y * 8 + 8)) for y in range(2)]))
out("image", "gray16.png", png(2, 2, 0, 16, [bytes(range(4)), bytes(range(4, 8))]))
def bmp(w, h):
    row = (w * 3 + 3) & ~3
    pix = b"".join(bytes((x * 30 + y * 60 + c) % 256 for x in range(w) for c in range(3)) + b"\x00" * (row - w * 3) for y in range(h))
    return (b"BM" + struct.pack("<IHHI", 54 + len(pix), 0, 0, 54) +
            struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pix), 2835, 2835, 0, 0) + pix)
out("image", "rgb.bmp", bmp(3, 2))
out("image", "gray.pgm", b"P5\n4 3\n255\n" + bytes(range(0, 240, 20)))
out("image", "rgb.ppm", b"P6\n2 2\n255\n" + bytes(range(12)))
out("image", "rgb.tga", struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, 2, 2, 24, 0) + bytes(range(12)))

# ---- patch: against fuzz_patch.cpp's small model (fc1 [8,4] rows, fc2 [4,8] columns);
# base hash "model" is replaced by the model's real hash in the harness.
def f32(n, start=0.0): return b"".join(struct.pack("<f", start + i) for i in range(n))
sites = {"blocks.0.mlp.fc1.weight": {"unit": "row", "indices": [1, 3]},
         "blocks.0.mlp.fc2.weight": {"unit": "col", "indices": [0]}}
pmeta = {"vitedit.patch": "1", "vitedit.patch.sites": json.dumps(sites), "vitedit.patch.base_hash": "model",
         "vitedit.patch.edited_hash": "x", "vitedit.patch.provenance": json.dumps({"locator": "saliency", "steps": "3"})}
out("patch", "apply.vtp", safetensors({
    "blocks.0.mlp.fc1.weight.old": ("F32", [2, 4], f32(8)), "blocks.0.mlp.fc1.weight.new": ("F32", [2, 4], f32(8, 1)),
    "blocks.0.mlp.fc2.weight.old": ("F32", [4, 1], f32(4)), "blocks.0.mlp.fc2.weight.new": ("F32", [4, 1], f32(4, 2))}, pmeta))
rmeta = dict(pmeta, **{"vitedit.patch.base_hash": "x", "vitedit.patch.edited_hash": "model",
                       "vitedit.patch.sites": json.dumps({"blocks.0.mlp.fc1.weight": {"unit": "row", "indices": []}})})
out("patch", "revert-empty.vtp", safetensors({}, rmeta))

# ---- chain: line 1 a plugin spec, line 2 edit blocks, then an INI file
out("chain", "basic.txt", "saliency:sparsity=0.05,seed=3\n7,8,9\n[locator]\nname = hypernet\nsparsity = 0.1\n"
    "[editor]\nname = rmsprop ; comment\nlr = 1e-4\nsteps=100\n[sites]\nblocks = 2,3,4\n")
out("chain", "bad.txt", "ft-l2:lr=,c=1e-3,,\n1,x\n# c\n[editor\nkey\n[sites]\nblocks=-1\n")
