"""hybridkit: run Exchange hybrid migrations from any machine over PSRP/WinRM."""

__version__ = "0.1.0"
__all__ = ["__version__"]
