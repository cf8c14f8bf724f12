"""The panel window: a sortable, filterable table coloured by confidence with every doubtful
element or H count highlighted, the reflections' evidence per atom where the job had them
(each element the data changed marked and counted, the decision's reason in the row's
tooltip), a labelled confidence histogram, a watch on the assignment file so a new answer
shows at once, and (with a `Link`) a clicked row selects the atom in Olex2 and Olex2's
selection selects the row."""

from __future__ import annotations

from pathlib import Path

import queue
import sys
import threading

from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crystalx_core.errors import InputError
from crystalx_core.panel.rows import Row, histogram, read_rows

COLUMNS = [
    "atom",
    "new label",
    "element",
    "p",
    "alternatives",
    "H",
    "p(H)",
    "HFIX",
    "by the data",
    "evidence",
    "note",
]
LOW = QColor(255, 150, 150)  # a doubtful element or H count
CHANGED = QColor(150, 200, 255)  # an element the reflections changed
DATA = 8  # the column of the data's evidence, hidden when the file has none
NUMBERS = {3: ".3f", 5: "d", 6: ".2f"}  # the number columns and the digits they show


def confidence_colour(p: float) -> QColor:
    """Red (0.5 or less) through yellow to green (1.0)."""
    t = min(1.0, max(0.0, (p - 0.5) / 0.5))
    return QColor.fromHsvF(t / 3.0, 0.45, 1.0)


class _Digits(QStyledItemDelegate):
    """Shows a number cell with fixed digits. The cell holds the number itself, so Qt sorts
    the column in C++: a Python comparison per pair took 6 of 15 s to open 2,000 rows."""

    def __init__(self, digits: str, parent):
        super().__init__(parent)
        self.digits = digits

    def displayText(self, value, locale):
        return format(value, self.digits)


class Histogram(QWidget):
    """Atoms per element-probability bin, with both axes labelled and each bar's count."""

    def __init__(self):
        super().__init__()
        self.counts: list[int] = []
        self.setMinimumHeight(130)

    def set_rows(self, rows: list[Row]):
        self.counts = histogram(rows)
        self.update()

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.white)
        left, bottom, top_margin = 46, 34, 18
        width, height = self.width() - left - 8, self.height() - bottom - top_margin
        bins = max(len(self.counts), 1)
        top = max(self.counts or [1]) or 1
        bar = width / bins
        painter.setPen(Qt.black)
        painter.drawText(4, 13, "atoms per element probability")
        painter.drawLine(left, top_margin, left, top_margin + height)
        painter.drawLine(left, top_margin + height, left + width, top_margin + height)
        painter.drawText(4, top_margin + 10, str(top))
        painter.drawText(4, top_margin + height, "0")
        painter.save()
        painter.translate(14, top_margin + height // 2 + 16)
        painter.rotate(-90)
        painter.drawText(0, 0, "atoms")
        painter.restore()
        for k, n in enumerate(self.counts):
            h = int(height * n / top)
            x = left + int(k * bar) + 1
            painter.fillRect(
                x,
                top_margin + height - h,
                max(int(bar) - 2, 1),
                h,
                confidence_colour((k + 0.5) / bins),
            )
            if n:
                painter.drawText(x + 2, top_margin + height - h - 2, str(n))
            painter.drawText(left + int(k * bar) - 6, top_margin + height + 13, f"{k / bins:.1f}")
        painter.drawText(left + width - 18, top_margin + height + 13, "1.0")
        painter.drawText(
            left + width // 2 - 70, self.height() - 3, "probability of the chosen element"
        )
        painter.end()


class Link(QObject):
    """The line protocol with the Olex2 plugin on stdin/stdout: the panel writes `ready` once
    shown and `select LABEL` for a clicked row; it reads `select LABEL` (Olex2's selection).
    A thread reads stdin into a queue that a timer empties on the GUI thread (no Qt call
    from the reading thread)."""

    selected = Signal(str)
    closed = Signal()  # the plugin (Olex2) has gone

    def __init__(self, stdin=None, stdout=None):
        super().__init__()
        self.stdin, self.stdout = stdin or sys.stdin, stdout or sys.stdout
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._deliver)
        self.timer.start(50)

    def send(self, line: str):
        try:
            self.stdout.write(line + "\n")
            self.stdout.flush()
        except (OSError, ValueError):
            pass  # the plugin has gone

    def _read(self):
        for line in self.stdin:
            self.lines.put(line)
        self.lines.put(None)

    def _deliver(self):
        while not self.lines.empty():
            line = self.lines.get()
            if line is None:
                self.timer.stop()
                self.closed.emit()
                return
            words = line.split()
            if words[:1] == ["select"] and len(words) == 2:
                self.selected.emit(words[1])


class PanelWindow(QMainWindow):
    def __init__(self, path: Path, link: Link | None = None):
        super().__init__()
        self.path = Path(path)
        self.link = link
        self.rows: list[Row] = []
        self.title = ""
        self.setWindowTitle("CrystalX probabilities")
        self.status = QLabel()
        self.threshold = QDoubleSpinBox(
            minimum=0.0, maximum=1.0, singleStep=0.05, decimals=3, value=0.9
        )
        self.only_doubtful = QCheckBox("only below")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.setSortingEnabled(True)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        for column, digits in NUMBERS.items():
            self.table.setItemDelegateForColumn(column, _Digits(digits, self.table))
        self.sort_column, self.sort_order = 3, Qt.AscendingOrder  # least confident first
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._sorted)
        self.histogram = Histogram()
        controls = QHBoxLayout()
        controls.addWidget(self.only_doubtful)
        controls.addWidget(self.threshold)
        controls.addStretch()
        layout = QVBoxLayout()
        layout.addWidget(self.status)
        layout.addLayout(controls)
        layout.addWidget(self.table)
        layout.addWidget(self.histogram)
        body = QWidget()
        body.setLayout(layout)
        self.setCentralWidget(body)
        self.only_doubtful.toggled.connect(self.apply_filter)
        self.threshold.valueChanged.connect(self._threshold_changed)
        self.watcher = QFileSystemWatcher()
        self.watcher.fileChanged.connect(self._changed)
        self.watcher.directoryChanged.connect(self._changed)  # the file is replaced by a rename
        self.watcher.addPath(str(self.path.parent))
        self.table.cellClicked.connect(self._clicked)
        if link is not None:
            link.selected.connect(self.select_label)
        self.reload()

    def _clicked(self, row, column):
        if self.link is not None:
            self.link.send(f"select {self.table.item(row, 0).text()}")

    def select_label(self, label: str):
        """Select and show the row of `label` (as Olex2 names it, or the new label)."""
        for k in range(self.table.rowCount()):
            if label.upper() in (
                self.table.item(k, 0).text().upper(),
                self.table.item(k, 1).text().upper(),
            ):
                self.table.selectRow(k)
                self.table.scrollToItem(self.table.item(k, 0))
                return

    def _sorted(self, column, order):
        self.sort_column, self.sort_order = column, order

    def _changed(self, *_):
        QTimer.singleShot(100, self.reload)  # let the writer finish its rename

    def reload(self):
        if not self.path.exists():
            self.status.setText(f"waiting for {self.path}")
            return
        try:
            title, rows = read_rows(self.path)
        except InputError as error:
            self.status.setText(error.one_line())
            return
        if str(self.path) not in self.watcher.files():
            self.watcher.addPath(str(self.path))
        self.title, self.rows = title, rows
        self._fill()
        self.histogram.set_rows(rows)

    def _threshold_changed(self):
        """The count, the highlights and the filter all follow the threshold."""
        self._highlight()
        self.apply_filter()

    def _highlight(self):
        """Mark each element and H count below the threshold, and count the atoms with either."""
        limit = self.threshold.value()
        self.table.setSortingEnabled(False)  # a changed item may re-sort the rows under the loop
        for k in range(self.table.rowCount()):
            element_low = float(self.table.item(k, 3).data(Qt.UserRole)) < limit
            h_low = float(self.table.item(k, 6).data(Qt.UserRole)) < limit
            for column, low in ((0, element_low), (2, element_low), (5, h_low), (6, h_low)):
                self.table.item(k, column).setBackground(LOW if low else QBrush())
        self.table.setSortingEnabled(True)
        low = sum(1 for r in self.rows if r.low(limit))
        text = (
            f"{self.title}: {len(self.rows)} atoms, {low} with an element or H probability below "
            f"{limit:.2f} (highlighted)"
        )
        if any(r.by_data for r in self.rows):
            changed = sum(1 for r in self.rows if r.changed_from)
            text += f"; {changed} changed by the data (blue)"
        self.status.setText(text)

    def _fill(self):
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.rows))
        for k, row in enumerate(self.rows):
            alternatives = ", ".join(f"{el} {p:.2f}" for el, p in row.alternatives)
            cells = [
                row.label,
                row.new_label,
                row.element,
                row.confidence,
                alternatives,
                row.h_count,
                row.h_confidence,
                row.hfix_text(),
                f"{row.changed_from} → {row.element}; {row.by_data}"
                if row.changed_from
                else row.by_data,
                row.evidence,
                row.note,
            ]
            for column, value in enumerate(cells):
                item = QTableWidgetItem()
                item.setData(Qt.DisplayRole, value)
                if column in NUMBERS:
                    item.setData(Qt.UserRole, float(value))
                if column == 3:
                    item.setBackground(confidence_colour(row.confidence))
                if row.changed_from and column == DATA:
                    item.setBackground(CHANGED)
                if row.decision:
                    item.setToolTip(row.decision)
                self.table.setItem(k, column, item)
        self.table.setColumnHidden(DATA, not any(r.by_data for r in self.rows))
        self._highlight()
        self.table.sortByColumn(self.sort_column, self.sort_order)
        self.apply_filter()

    def apply_filter(self):
        limit = self.threshold.value()
        for k in range(self.table.rowCount()):
            p = min(
                float(self.table.item(k, 3).data(Qt.UserRole)),
                float(self.table.item(k, 6).data(Qt.UserRole)),
            )
            self.table.setRowHidden(k, self.only_doubtful.isChecked() and p >= limit)
