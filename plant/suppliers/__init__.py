"""Suppliers: master data, per-supplier feeds after every plan, their replies in the plans."""
