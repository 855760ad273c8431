"""How representation plugins reach PyKEEN's resolver.

- :mod:`.hookspec`: the hook a plugin implements, and the entry point group that lists plugins;
- :mod:`.loader`: loads the plugins with pluggy and registers their classes;
- :mod:`.startup`: the start-up hook that registers them as soon as ``pykeen.nn`` is imported;
- :mod:`.own`: pykeen-backfill's own plugin.

This package module imports nothing: the start-up hook runs in every interpreter.
"""
