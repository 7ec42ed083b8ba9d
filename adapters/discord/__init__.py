"""The Discord adapter (discord.py): help and forum channels, staff cards,
persistent buttons and slash commands.

Nothing is imported here, so ``journeybot --help`` stays fast and the real
``discord`` library is only loaded by the commands that need it. Modules in
this package import the library as ``import discord`` (absolute imports; this
package is ``adapters.discord`` and never shadows it).
"""
