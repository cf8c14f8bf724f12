"""setup.cfg holds the metadata; this says what it cannot: the repository's onnx_models/
ships inside the package as crystalx_core/onnx_models (read by crystalx_core.runtime)."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["crystalx_core*"]) + ["crystalx_core.onnx_models"],
    package_dir={"crystalx_core.onnx_models": "onnx_models"},
    package_data={"crystalx_core.onnx_models": ["*.onnx", "*.json", "*.md"]},
)
