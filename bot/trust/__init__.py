"""Trust checks for the core: redaction, commitments and sensitive cases.

Pure, offline detectors with no I/O: ``redact`` strips personal data and
secrets, ``promises`` finds company commitments in replies (and requests for
them in questions), ``sensitive`` recognises cases a person should handle.
"""
