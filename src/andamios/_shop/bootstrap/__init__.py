"""The shop's composition root: the only package that chooses adapters."""

from __future__ import annotations

from andamios._shop.bootstrap.containers import ShopContainer

__all__ = ["ShopContainer"]
