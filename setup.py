"""Packages: everything under hybridkit/, plus the repository's ps_templates/ shipped as hybridkit.ps_templates
(so runbook export works from an installed wheel, not only from a source checkout). The rest is pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["hybridkit", "hybridkit.*"]), "hybridkit.ps_templates"],
    package_dir={"hybridkit.ps_templates": "ps_templates"},
)
