"""The version, in one place: the package and `convcalc --version` read it."""

__version__ = "0.1.0"
