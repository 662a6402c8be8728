"""Bundles: immutable, versioned snapshots of the project that the deployer publishes and activates.

A bundle is one ``<id>.tar.gz`` holding ``dags/``, ``plugins/``, ``include/``, ``requirements.txt``,
the saved model under ``model/`` and the chosen datasets under ``datasets/``, with ``manifest.json``
first: the id, release notes, creation time, source revision, the SHA-256 and size of every file,
and the diff against the previous bundle. See :mod:`include.bundles.archive`.
"""
