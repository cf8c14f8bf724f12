"""The panel window: a sortable, filterable table coloured by confidence, a confidence
histogram, and a watch on the assignment file so a new answer shows at once."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QMainWindow,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from crystalx_core.errors import InputError
from crystalx_core.panel.rows import Row, histogram, read_rows

COLUMNS = ["atom", "new label", "element", "p", "alternatives", "H", "p(H)", "HFIX", "note"]


def confidence_colour(p: float) -> QColor:
    """Red (0.5 or less) through yellow to green (1.0)."""
    t = min(1.0, max(0.0, (p - 0.5) / 0.5))
    return QColor.fromHsvF(t / 3.0, 0.45, 1.0)


class _NumberItem(QTableWidgetItem):
    """Sorts by number, not by text."""

    def __lt__(self, other):
        return float(self.data(Qt.UserRole)) < float(other.data(Qt.UserRole))


class Histogram(QWidget):
    def __init__(self):
        super().__init__()
        self.counts: list[int] = []
        self.setMinimumHeight(70)

    def set_rows(self, rows: list[Row]):
        self.counts = histogram(rows)
        self.update()

    def paintEvent(self, event):
        painter = QPainter(self)
        width, height = self.width(), self.height() - 14
        top = max(self.counts or [1]) or 1
        bar = width / max(len(self.counts), 1)
        for k, n in enumerate(self.counts):
            h = int(height * n / top)
            painter.fillRect(int(k * bar) + 1, height - h, int(bar) - 2, h, confidence_colour((k + 0.5) / len(self.counts)))
        painter.setPen(Qt.black)
        painter.drawText(0, self.height() - 2, "confidence 0")
        painter.drawText(width - 20, self.height() - 2, "1")
        painter.end()


class PanelWindow(QMainWindow):
    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self.rows: list[Row] = []
        self.setWindowTitle("CrystalX probabilities")
        self.status = QLabel()
        self.threshold = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=3, value=0.9)
        self.only_doubtful = QCheckBox("only below")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.setSortingEnabled(True)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
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
        self.threshold.valueChanged.connect(self.apply_filter)
        self.watcher = QFileSystemWatcher()
        self.watcher.fileChanged.connect(self._changed)
        self.watcher.directoryChanged.connect(self._changed)  # the file is replaced by a rename
        self.watcher.addPath(str(self.path.parent))
        self.reload()

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
        self.rows = rows
        low = sum(1 for r in rows if r.confidence < self.threshold.value())
        self.status.setText(f"{title}: {len(rows)} atoms, {low} below {self.threshold.value():.2f}")
        self._fill()
        self.histogram.set_rows(rows)

    def _fill(self):
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.rows))
        for k, row in enumerate(self.rows):
            alternatives = ", ".join(f"{el} {p:.2f}" for el, p in row.alternatives)
            cells = [row.label, row.new_label, row.element, f"{row.confidence:.3f}", alternatives,
                     str(row.h_count), f"{row.h_confidence:.2f}", str(row.hfix or "-"), row.note]
            numbers = {3: row.confidence, 5: row.h_count, 6: row.h_confidence}
            for column, text in enumerate(cells):
                item = _NumberItem(text) if column in numbers else QTableWidgetItem(text)
                if column in numbers:
                    item.setData(Qt.UserRole, float(numbers[column]))
                if column == 3:
                    item.setBackground(confidence_colour(row.confidence))
                self.table.setItem(k, column, item)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(self.sort_column, self.sort_order)
        self.apply_filter()

    def apply_filter(self):
        limit = self.threshold.value()
        for k in range(self.table.rowCount()):
            p = float(self.table.item(k, 3).data(Qt.UserRole))
            self.table.setRowHidden(k, self.only_doubtful.isChecked() and p >= limit)
