"""Builds sparkv's Python extension with the project's CMake (pyproject.toml has the metadata).

The extension target `_sparkv` is built in build/python-package (kept between installs, so a
second install only recompiles what changed), or in $SPARKV_CMAKE_BUILD_DIR when set (the test
suite points it at build/, which is already configured). The wheel also carries the embedded
model, so `sparkv.Model()` works wherever the package is installed."""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
MODEL = ROOT / "models" / "sparkv-tiny-f16.gguf"


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(os.environ.get("SPARKV_CMAKE_BUILD_DIR",
                                            ROOT / "build" / "python-package")).resolve()
        jobs = os.environ.get("JOBS", str(os.cpu_count() or 2))
        if not (build / "CMakeCache.txt").exists():
            subprocess.check_call(
                ["cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja",
                 "-DCMAKE_BUILD_TYPE=Release", "-DSPARKV_BUILD_TESTS=OFF",
                 "-DSPARKV_BUILD_BENCH=OFF", "-DSPARKV_BUILD_PYTHON=ON",
                 f"-DPython_EXECUTABLE={sys.executable}"])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "_sparkv", "-j", jobs])
        built = sorted((build / "python" / "sparkv").glob("_sparkv*.so"))
        if not built:
            raise RuntimeError(f"sparkv: the _sparkv module was not built in {build} "
                               "(is pybind11-dev installed? scripts/install-deps.sh)")
        out = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[0], out)
        models = out.parent / "models"
        models.mkdir(exist_ok=True)
        shutil.copy2(MODEL, models / MODEL.name)


# setuptools' own scratch goes under build/setuptools, beside (not into) the CMake build folders.
setup(ext_modules=[Extension("sparkv._sparkv", sources=[])], cmdclass={"build_ext": CMakeBuild},
      options={"build": {"build_base": "build/setuptools"}})
