"""A pinned Debian package for the set builders: downloaded with `apt-get download`, checked
against the sha256 committed beside the builder, unpacked into a work folder."""
import hashlib
import os
import subprocess
import sys


def unpack(package, version, deb, checksum_file, work):
    """The folder `package` (exactly `version`, file name `deb`) is unpacked into; exits
    when the download's sha256 is not the one in `checksum_file`."""
    subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = os.path.join(work, deb)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), checksum_file)) as f:
        expected = f.read().split()[0]
    if digest != expected:
        sys.exit(f"{deb}: sha256 {digest}, expected {expected}")
    subprocess.run(["dpkg-deb", "-x", path, os.path.join(work, "x")], check=True)
    return os.path.join(work, "x")
