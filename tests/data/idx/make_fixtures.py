#!/usr/bin/python3
# Writes the IDX / gzip fixtures of tests/test_idx.cpp with other tools than housenet's: Python's
# struct, gzip and zlib modules (zlib 1.2.13 on Debian 12) and the gzip program (1.12).
#
#   /usr/bin/python3 tests/data/idx/make_fixtures.py tests/data/idx
#
#   images-idx3-ubyte           3 images of 4 x 5: pixel (i, y, x) = (37 i + 11 y + 3 x) % 256
#   labels-idx1-ubyte           labels 2, 0, 9
#   images-idx3-ubyte.gz        `gzip -9 -c` (FNAME set: gzip stores the file name)
#   labels-idx1-ubyte.gz        gzip.compress(level 9, mtime 0): no optional fields
#   images-stored.gz            gzip.compress(level 0): stored (uncompressed) deflate blocks
#   images-fixed.gz             raw deflate with zlib's Z_FIXED strategy (fixed Huffman codes), in a
#                               gzip header with FEXTRA, FNAME, FCOMMENT and FHCRC, all set by hand
#   two-members.gz              the labels file as two gzip members (gzip a; gzip b; cat): valid
#                               gzip that this reader refuses (one member only)
#   float-idx1                  an IDX file of 2 floats (type 0x0d): refused (bytes only)
#   labels200-idx1-ubyte.gz     200 labels (i * i + i // 2) % 10, gzip.compress(level 9, mtime 0):
#                               a stream whose last codes sit in its last two bytes, which Debian's
#                               stb_image 2.27 fails when handed the deflate data alone
import gzip, os, struct, subprocess, sys, zlib

out = sys.argv[1] if len(sys.argv) > 1 else "."
def put(name, b):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b)

n, h, w = 3, 4, 5
images = struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + bytes(
    (37 * i + 11 * y + 3 * x) % 256 for i in range(n) for y in range(h) for x in range(w))
labels = struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes([2, 0, 9])
put("images-idx3-ubyte", images)
put("labels-idx1-ubyte", labels)
put("images-idx3-ubyte.gz",
    subprocess.run(["gzip", "-9", "-c", os.path.join(out, "images-idx3-ubyte")], check=True,
                   stdout=subprocess.PIPE).stdout)
put("labels-idx1-ubyte.gz", gzip.compress(labels, 9, mtime=0))
put("images-stored.gz", gzip.compress(images, 0, mtime=0))

c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_FIXED)
deflate = c.compress(images) + c.flush()
extra = b"HN\x04\x00abcd"                      # one subfield: id "HN", 4 bytes
head = bytes([0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10]) + struct.pack("<I", 0) + bytes([2, 3])
head += struct.pack("<H", len(extra)) + extra + b"images.idx\x00" + b"a comment\x00"
head += struct.pack("<H", zlib.crc32(head) & 0xFFFF)
put("images-fixed.gz", head + deflate + struct.pack("<II", zlib.crc32(images), len(images)))

put("two-members.gz", gzip.compress(labels[:6], 9, mtime=0) + gzip.compress(labels[6:], 9, mtime=0))
put("float-idx1", struct.pack(">BBBBI", 0, 0, 0x0d, 1, 2) + struct.pack(">ff", 1.5, -2.0))

put("labels200-idx1-ubyte.gz", gzip.compress(
    struct.pack(">BBBBI", 0, 0, 8, 1, 200) + bytes((i * i + i // 2) % 10 for i in range(200)), 9, mtime=0))
