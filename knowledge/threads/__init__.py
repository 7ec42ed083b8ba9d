"""Past threads (Slack and Discord exports) become pending knowledge.

``read_export`` reads an export into pending drafts (``slack``, ``discord``
read the formats, ``qa`` decides what the question and the answer are);
``import_threads`` stores them in one transaction. Nothing here imports the
core or a platform: the caller passes its redaction function in.
"""
