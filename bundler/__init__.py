"""bundler: carry OpenShift content across an air gap as one verified OCI bundle."""

__version__ = "0.1.0"
