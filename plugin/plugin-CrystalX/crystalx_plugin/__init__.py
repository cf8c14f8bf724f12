"""The CrystalX plugin's helper modules, in a package of its own name.

Olex2 puts every listed plugin's folder on sys.path before it imports any plugin (olex2-gui
util/pyUtil/initpy.py, set_plugins_paths), so a plugin's top-level module names are shared
with every other plugin: another plugin's session.py would have shadowed ours. Real plugins
keep their helpers in a package for this (plugin-olex2qcrbox: qcrbox_plugin/).
"""
