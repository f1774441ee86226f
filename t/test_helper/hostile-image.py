#!/usr/bin/env python3
"""Hostile image archives for t/3150-image-hostile.bats.

  oci-extra OUT MB     an OCI layout tar.gz of a small image plus a blob of
                       MB MiB of zeros that no manifest names
  oci-huge OUT         an OCI layout tar.gz whose layer member declares
                       100 GiB and holds 1 MiB
  oci-layer OUT LAYER  an OCI layout tar (uncompressed) with LAYER (a file)
                       as its only layer
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile


def tar_of(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def sha(b):
    return hashlib.sha256(b).hexdigest()


def image(layer, diff_id):
    """The small files of an OCI layout for one layer: [(name, bytes)]."""
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + sha(layer), "size": len(layer)}],
    }).encode()
    index = json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": "sha256:" + sha(manifest), "size": len(manifest)}],
    }).encode()
    return [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
            ("blobs/sha256/" + sha(manifest), manifest), ("blobs/sha256/" + sha(config), config)]


class Zeros(io.RawIOBase):
    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


def add(tf, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    tf.addfile(ti, io.BytesIO(data))


def main():
    cmd, out = sys.argv[1], sys.argv[2]
    if cmd == "oci-extra":
        layer = tar_of([("hello", b"hello\n")])
        with gzip.open(out, "wb", compresslevel=1) as gz, \
                tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            for name, data in image(layer, sha(layer)):
                add(tf, name, data)
            add(tf, "blobs/sha256/" + sha(layer), layer)
            n = int(sys.argv[3]) << 20
            ti = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
            ti.size = n
            tf.addfile(ti, io.BufferedReader(Zeros(n), 1 << 20))
    elif cmd == "oci-huge":
        layer = tar_of([("hello", b"hello\n")])
        small = image(layer, sha(layer))
        with gzip.open(out, "wb") as gz:
            for name, data in small:
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                gz.write(ti.tobuf(tarfile.PAX_FORMAT) + data + bytes(-len(data) % 512))
            ti = tarfile.TarInfo("blobs/sha256/" + sha(layer))
            ti.size = 100 << 30
            gz.write(ti.tobuf(tarfile.PAX_FORMAT))
            gz.write(bytes(1 << 20))
    elif cmd == "oci-layer":
        layer = open(sys.argv[3], "rb").read()
        files = image(layer, sha(layer)) + [("blobs/sha256/" + sha(layer), layer)]
        open(out, "wb").write(tar_of(files))
    else:
        sys.exit("unknown command " + cmd)


main()
