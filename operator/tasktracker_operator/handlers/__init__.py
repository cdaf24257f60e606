"""Handlers: what kopf calls. They apply built children and write status; main.py only wires them."""
