# Writes a class-per-folder PNG slice of MNIST's training images: a small "user folder" the image preset was never tuned on
# (docs/data.md, "Length on small folders"). Usage: python3 bench/make_mnist_folder.py ~/.cache/pretext/data/mnist OUT 300 [train|t10k]
# The optional last argument picks the split (default train; t10k: the test images, as docs/mlnet.md's example uses).
import gzip, os, random, struct, sys, zlib
src, out, per_class = sys.argv[1], sys.argv[2], int(sys.argv[3])
split = sys.argv[4] if len(sys.argv) > 4 else 'train'
def read(path):
    op = gzip.open if path.endswith('.gz') else open
    with op(path, 'rb') as f: return f.read()
imgs = read(os.path.join(src, [f for f in os.listdir(src) if f.startswith(split + '-images')][0]))
labs = read(os.path.join(src, [f for f in os.listdir(src) if f.startswith(split + '-labels')][0]))
n, rows, cols = struct.unpack('>III', imgs[4:16]); labels = labs[8:]
rng = random.Random(7); idx = list(range(n)); rng.shuffle(idx)
count = {c: 0 for c in range(10)}
def png(pixels, w, h):
    raw = b''.join(b'\x00' + pixels[r*w:(r+1)*w] for r in range(h))
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
for i in idx:
    c = labels[i]
    if count[c] >= per_class: continue
    d = os.path.join(out, str(c)); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f'{i:05d}.png'), 'wb') as f: f.write(png(imgs[16 + i*rows*cols: 16 + (i+1)*rows*cols], cols, rows))
    count[c] += 1
    if all(v >= per_class for v in count.values()): break
print(count)
