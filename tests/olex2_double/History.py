"""Test double of olex2-gui's util/pyUtil/PyToolLib/History.py as a plugin sees it: the
module global `tree` (None until a structure's history is made or loaded), whose
`active_node` is the current Node and `link_table` every node made; each Node has its `name`,
md5(time.asctime()) of the second it was made in (HistoryTree.add_node,
add_top_level_node). Olex2's GUI imports History at start (cctbx_olex_adapter.py and
RunPrg.py do `from History import hist`)."""

import sys


class _Tree(object):
    """History.HistoryTree's view of the double's nodes (_olex2.STATE)."""

    @property
    def active_node(self):
        return sys.modules["_olex2"].STATE.active_history_node

    @property
    def link_table(self):
        return sys.modules["_olex2"].STATE.history_nodes


def __getattr__(name):
    if name == "tree":  # History.py: `tree = None` until create_history or loadHistory
        state = sys.modules["_olex2"].STATE
        return _Tree() if state.active_history_node is not None else None
    raise AttributeError(name)
