"""Test and demo tooling: the synthetic upstream, real-registry fixtures, test servers, the demo.

Not part of the product: not in the wheel, not in the container image, and no ``bundler`` module may
import it (a test checks). Test content is written with its own minimal clients, never with bundler's
push path, so a bug there cannot hide on both sides.
"""
