"""setup.py - the _ringmon extension for pip (pyproject.toml holds the rest).

The extension is python/src/*.c plus schema/mongo_schema.c, linked against the
installed libringmon that `pkg-config ringmon` finds (one producer per
process: the library is shared, never copied in), with an rpath to its libdir
so that a PREFIX outside the loader's path works without ldconfig. When
pkg-config or ringmon.pc is missing, the build stops saying how to install
libringmon. The version is the Makefile's VERSION. Build files go under
build/pip, beside make's, never into the source folders."""
import glob
import os
import re
import shlex
import subprocess
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(HERE)


def pkg_config(*args):
    try:
        p = subprocess.run(["pkg-config"] + list(args) + ["ringmon"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        sys.exit("ringmon: pkg-config is missing: install it (Debian: apt-get install "
                 "pkg-config), then run pip again")
    if p.returncode != 0:
        sys.exit("ringmon: the ringmon library is not installed where pkg-config looks "
                 "(pkg-config ringmon: %s).\nInstall libringmon first, from the ringmon "
                 "source tree: make install PREFIX=/usr/local (or another PREFIX, then\n"
                 "export PKG_CONFIG_PATH=PREFIX/lib/pkgconfig), then run pip again."
                 % (p.stderr.strip() or "not found"))
    return p.stdout.strip()


def version():
    with open("Makefile") as f:
        return re.search(r"^VERSION := (\S+)", f.read(), re.M).group(1)


cflags = shlex.split(pkg_config("--cflags"))
libs = shlex.split(pkg_config("--libs"))
libdir = pkg_config("--variable=libdir")
os.makedirs("build/pip", exist_ok=True)

setup(
    version=version(),
    ext_modules=[Extension(
        "ringmon._ringmon",
        sources=sorted(glob.glob("python/src/*.c")) + ["schema/mongo_schema.c"],
        include_dirs=["python/src", "schema"],
        extra_compile_args=["-std=c11", "-fvisibility=hidden", "-Wall", "-Wextra"] + cflags,
        extra_link_args=libs + ["-pthread"],
        runtime_library_dirs=[libdir],
    )],
    options={"build": {"build_base": "build/pip"}, "egg_info": {"egg_base": "build/pip"}},
)
