"""Reading an ImageSetConfiguration (oc-mirror's ``mirror.openshift.io/v2alpha1`` and ``v1alpha2``) and a
DeleteImageSetConfiguration into typed settings: every field parsed, honoured or warned about by file, line
and field. :mod:`bundler.config` is the front door. May import :mod:`bundler.oci` and :mod:`bundler.errors`.
"""
