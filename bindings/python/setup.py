"""The wheel's two settings pyproject.toml cannot state (tools/wheel.sh builds it):

- the version is the library's: the workspace's Cargo.toml;
- the wheel carries native code (libnninteractive.so, the nni binary) but no extension module,
  so it is tagged py3-none-<platform>: one wheel for every CPython 3 on that platform
  (auditwheel then gives the manylinux tag the binaries qualify for).
"""
import os
import re

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))


def workspace_version():
    with open(os.path.join(HERE, "..", "..", "Cargo.toml")) as f:
        return re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)


class NativeDistribution(Distribution):
    """Native code inside: installed as platform-specific (platlib), not pure Python."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """Tagged for any CPython 3 (no extension module, no Python ABI) on this platform."""

    def get_tag(self):
        return ("py3", "none", super().get_tag()[2])


setup(version=workspace_version(), distclass=NativeDistribution, cmdclass={"bdist_wheel": PlatformWheel})
