#!/usr/bin/env python3
"""Builds test inputs for t/3100-image.bats: tarballs (with hostile members),
docker-save archives and multi-layer images with whiteouts.

  image.py rootfs OUT [gz]            a small root file system tarball
  image.py evil OUT KIND [TARGET]     dotdot | absolute | device | chardev | linkout | symlink
  image.py docker-save OUT NAME       two layers, the second with whiteouts
"""
import hashlib, io, json, os, sys, tarfile, time


def add_file(tf, name, data, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    ti.mtime = 1000000000
    tf.addfile(ti, io.BytesIO(data))


def add_dir(tf, name, mode=0o755):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = mode
    ti.mtime = 1000000000
    tf.addfile(ti)


def add_link(tf, name, target, hard=False):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    ti.linkname = target
    ti.mtime = 1000000000
    tf.addfile(ti)


def tar_bytes(build, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        build(tf)
    return buf.getvalue()


def rootfs(tf):
    add_dir(tf, "./")
    add_dir(tf, "./etc")
    add_file(tf, "./etc/hello", b"hello\n")
    add_dir(tf, "./bin")
    add_file(tf, "./bin/tool", b"#!/bin/sh\necho tool\n", 0o755)
    add_link(tf, "./bin/alias", "tool")
    add_link(tf, "./bin/hard", "bin/tool", hard=True)


def main():
    cmd, out = sys.argv[1], sys.argv[2]
    if cmd == "rootfs":
        data = tar_bytes(rootfs)
        if len(sys.argv) > 3 and sys.argv[3] == "gz":
            import gzip
            data = gzip.compress(data, mtime=0)
        open(out, "wb").write(data)
    elif cmd == "evil":
        kind = sys.argv[3]

        def build(tf):
            add_file(tf, "ok", b"fine\n")
            if kind == "dotdot":
                add_file(tf, "a/../../escaped", b"x\n")
            elif kind == "absolute":
                add_file(tf, "/tmp/escaped", b"x\n")
            elif kind == "device":
                ti = tarfile.TarInfo("dev/sda")
                ti.type = tarfile.BLKTYPE
                ti.devmajor, ti.devminor = 8, 0
                tf.addfile(ti)
            elif kind == "chardev":
                ti = tarfile.TarInfo("dev/null")
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = 1, 3
                tf.addfile(ti)
            elif kind == "symlink":
                add_link(tf, "escape", sys.argv[4])
                add_file(tf, "escape/planted", b"x\n")
            elif kind == "linkout":
                add_link(tf, "hard", "../../etc/passwd", hard=True)
        open(out, "wb").write(tar_bytes(build, tarfile.GNU_FORMAT))
    elif cmd == "docker-save":
        name = sys.argv[3]

        def layer1(tf):
            add_dir(tf, "etc")
            add_file(tf, "etc/keep", b"keep\n")
            add_file(tf, "etc/gone", b"gone\n")
            add_dir(tf, "data")
            add_file(tf, "data/old1", b"1\n")
            add_file(tf, "data/old2", b"2\n")
            add_dir(tf, "tree")
            add_dir(tf, "tree/sub")
            add_file(tf, "tree/sub/f", b"f\n")

        def layer2(tf):
            add_dir(tf, "etc")
            add_file(tf, "etc/.wh.gone", b"")
            add_file(tf, "etc/new", b"new\n")
            add_dir(tf, "data")
            add_file(tf, "data/.wh..wh..opq", b"")
            add_file(tf, "data/fresh", b"fresh\n")
            add_file(tf, ".wh.tree", b"")
        layers = [tar_bytes(layer1), tar_bytes(layer2)]
        ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
        config = json.dumps({
            "architecture": "amd64", "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin", "FOO=bar"]},
            "rootfs": {"type": "layers", "diff_ids": ids},
            "history": [{"created_by": "layer1"}, {"created_by": "layer2"}],
        }).encode()
        chex = hashlib.sha256(config).hexdigest()

        def save(tf):
            paths = []
            for i, l in enumerate(layers):
                d = hashlib.sha256(b"id%d" % i).hexdigest()
                add_dir(tf, d)
                add_file(tf, d + "/VERSION", b"1.0")
                add_file(tf, d + "/json", b"{}")
                add_file(tf, d + "/layer.tar", l)
                paths.append(d + "/layer.tar")
            add_file(tf, chex + ".json", config)
            add_file(tf, "manifest.json", json.dumps(
                [{"Config": chex + ".json", "RepoTags": [name], "Layers": paths}]).encode())
            add_file(tf, "repositories", b"{}")
        open(out, "wb").write(tar_bytes(save, tarfile.USTAR_FORMAT))
    else:
        sys.exit("unknown command " + cmd)


main()
