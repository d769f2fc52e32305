"""The shop's composition root: the only package that chooses adapters."""

from __future__ import annotations

from examples.shop.bootstrap.containers import ShopContainer

__all__ = ["ShopContainer"]
