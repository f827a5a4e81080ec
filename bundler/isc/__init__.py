"""oc-mirror configuration reading: one module per section, typed settings, the support table."""
