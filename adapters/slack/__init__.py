"""journeybot on Slack, through slack-bolt (see docs/slack.md).

Nothing is imported here: ``journeybot --help`` loads ``adapters.slack.cli``,
which must stay free of the Slack SDKs. Use ``adapters.slack.adapter``.
"""
