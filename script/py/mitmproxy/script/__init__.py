from .concurrent import concurrent

__all__ = ["concurrent"]
