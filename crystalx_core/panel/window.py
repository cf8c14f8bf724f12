"""The panel window: a sortable, filterable table coloured by confidence with every doubtful
element or H count highlighted, the reflections' evidence per atom where the job had them
(each element the data changed marked and counted, the decision's reason in the row's
tooltip), all that is known of the atom clicked under the table, the job's fit and notes, a
labelled confidence histogram, a watch on the assignment file so a new answer shows at once,
and (with a `Link`) a clicked row selects the atom in Olex2 and Olex2's selection selects the
row."""

from __future__ import annotations

import html
import queue
import re
import sys
import threading
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QFileSystemWatcher,
    QItemSelectionModel,
    QObject,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from crystalx_core.errors import InputError
from crystalx_core.panel.rows import Row, histogram, read_assignment

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
# Qt's roles by their full names: the old short ones (Qt.DisplayRole) take ~15 µs each to
# look up in PySide6, which made data() 0.08 ms a call and a 400-row refill 0.8 s
DISPLAY, TOOLTIP = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole
BACKGROUND, ALIGNMENT = Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.TextAlignmentRole
SORT_ROLE = Qt.ItemDataRole.UserRole  # a cell's value as it sorts: the number in a number column
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
PROMPT = "click an atom for all that is known about it"
WIDEST = 360  # px: a column no wider on opening (a long note is read in full in its tooltip)


def confidence_colour(p: float) -> QColor:
    """Red (0.5 or less) through yellow to green (1.0)."""
    t = min(1.0, max(0.0, (p - 0.5) / 0.5))
    return QColor.fromHsvF(t / 3.0, 0.45, 1.0)


def _natural(text: str) -> tuple:
    """C2 before C10, as a crystallographer numbers atoms."""
    return tuple(int(part) if part.isdigit() else part.upper() for part in re.split(r"(\d+)", text))


def _cells(row: Row) -> list:
    """The row's cell values, numbers as numbers."""
    data = f"{row.changed_from} → {row.element}; {row.by_data}" if row.changed_from else row.by_data
    alternatives = ", ".join(f"{el} {p:.2f}" for el, p in row.alternatives)
    return [
        row.label,
        row.new_label,
        row.element,
        row.confidence,
        alternatives,
        row.h_count,
        row.h_confidence,
        row.hfix_text(),
        data,
        row.evidence,
        row.note,
    ]


def details(row: Row) -> str:
    """Everything the panel knows about one atom, for the line under the table: the note and
    the data's reason are read there in full, whatever the columns' widths."""
    alternatives = ", ".join(f"{el} {p:.3f}" for el, p in row.alternatives)
    parts = [
        f"{row.label} → {row.new_label}: {row.element} p {row.confidence:.3f}"
        + (f" (then {alternatives})" if alternatives else ""),
        f"{row.h_count} H p {row.h_confidence:.2f}, HFIX {row.hfix_text()}",
    ]
    parts += [text for text in (row.decision, row.evidence, row.note) if text]
    return "; ".join(parts)


def _tooltip(row: Row) -> str:
    """The data's decision and the full note, as rich text so Qt wraps a long note."""
    lines = [text for text in (row.decision, row.note) if text]
    return "".join(f"<p>{html.escape(text)}</p>" for text in lines)


class AtomTable(QAbstractTableModel):
    """The rows as a Qt model: each cell computed when the view asks for it (only the rows in
    sight), so 20,000 atoms open and re-threshold as fast as 100. It sorts itself with
    Python's sort on a key per row, once per click: a proxy sorting by data() would call into
    Python for each of the ~n log n comparisons."""

    def __init__(self):
        super().__init__()
        self.rows: list[Row] = []
        self.cells: list[list] = []
        self.limit = 0.9

    def set_rows(self, rows: list[Row]):
        self.beginResetModel()
        self.rows, self.cells = list(rows), [_cells(r) for r in rows]
        self.endResetModel()

    def set_threshold(self, limit: float):
        """Re-mark the doubtful cells: one signal, the view repaints the rows in sight."""
        self.limit = limit
        if self.rows:
            corner = self.index(len(self.rows) - 1, len(COLUMNS) - 1)
            self.dataChanged.emit(self.index(0, 0), corner, [BACKGROUND])

    def rowCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=DISPLAY):
        if orientation == Qt.Orientation.Horizontal and role == DISPLAY:
            return COLUMNS[section]
        return None

    def data(self, index, role=DISPLAY):
        k, column = index.row(), index.column()
        if role == DISPLAY:
            value = self.cells[k][column]
            return format(value, NUMBERS[column]) if column in NUMBERS else value
        if role == SORT_ROLE:
            return self.cells[k][column]
        if role == BACKGROUND:
            return self._background(self.rows[k], column)
        if role == TOOLTIP:
            return _tooltip(self.rows[k]) or None
        if role == ALIGNMENT and column in NUMBERS:
            return RIGHT
        return None

    def _background(self, row: Row, column: int) -> QColor | None:
        if column in (0, 2) and row.confidence < self.limit:
            return LOW
        if column in (5, 6) and row.h_confidence < self.limit:
            return LOW
        if column == 3:
            return confidence_colour(row.confidence)
        if column == DATA and row.changed_from:
            return CHANGED
        return None

    def sort(self, column, order=Qt.SortOrder.AscendingOrder):
        """Reorder the rows; the persistent indexes (the selection) follow their atoms."""
        if not 0 <= column < len(COLUMNS):
            return
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        rows_before = [index.row() for index in before]
        key = (
            (lambda k: self.cells[k][column])
            if column in NUMBERS
            else (lambda k: _natural(str(self.cells[k][column])))
        )
        order_of = sorted(
            range(len(self.rows)), key=key, reverse=order == Qt.SortOrder.DescendingOrder
        )
        self.rows = [self.rows[k] for k in order_of]
        self.cells = [self.cells[k] for k in order_of]
        new_place = {old: new for new, old in enumerate(order_of)}
        self.changePersistentIndexList(
            before,
            [self.index(new_place[k], index.column()) for k, index in zip(rows_before, before)],
        )
        self.layoutChanged.emit()


class DoubtfulFilter(QSortFilterProxyModel):
    """Shows every row, or (only_doubtful) those with an element or H count below the
    threshold; sorting is the source's own (AtomTable.sort)."""

    def __init__(self, table: AtomTable):
        super().__init__()
        self.only_doubtful = False
        self.setSourceModel(table)

    def filterAcceptsRow(self, source_row, source_parent):
        table = self.sourceModel()
        return not self.only_doubtful or table.rows[source_row].low(table.limit)

    def sort(self, column, order=Qt.SortOrder.AscendingOrder):
        self.sourceModel().sort(column, order)

    def refilter(self, only_doubtful: bool):
        if not hasattr(self, "endFilterChange"):  # Qt < 6.9
            self.only_doubtful = only_doubtful
            self.invalidateRowsFilter()
            return
        self.beginFilterChange()  # Qt 6.10 deprecates invalidate*Filter for these
        self.only_doubtful = only_doubtful
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)


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
        self.title = ""
        self.digest = ""  # of the file's bytes as last shown
        self.setWindowTitle("CrystalX probabilities")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.job = QPlainTextEdit(readOnly=True)  # the job's fit and notes, where it has any
        self.job.setMaximumHeight(90)
        self.threshold = QDoubleSpinBox(
            minimum=0.0, maximum=1.0, singleStep=0.05, decimals=3, value=0.9
        )
        self.only_doubtful = QCheckBox("only below")
        self.atoms = AtomTable()
        self.shown = DoubtfulFilter(self.atoms)
        self.table = QTableView()
        self.table.setModel(self.shown)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setResizeContentsPrecision(200)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)  # least confident first
        self.details = QLabel(PROMPT)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.histogram = Histogram()
        controls = QHBoxLayout()
        controls.addWidget(self.only_doubtful)
        controls.addWidget(self.threshold)
        controls.addStretch()
        layout = QVBoxLayout()
        layout.addWidget(self.status)
        layout.addWidget(self.job)
        layout.addLayout(controls)
        layout.addWidget(self.table)
        layout.addWidget(self.details)
        layout.addWidget(self.histogram)
        body = QWidget()
        body.setLayout(layout)
        self.setCentralWidget(body)
        self.only_doubtful.toggled.connect(self.shown.refilter)
        self.threshold.valueChanged.connect(self._threshold_changed)
        self.watcher = QFileSystemWatcher()
        self.watcher.fileChanged.connect(self._changed)
        self.watcher.directoryChanged.connect(self._changed)  # the file is replaced by a rename
        self.watcher.addPath(str(self.path.parent))
        self.table.clicked.connect(self._clicked)
        self.table.selectionModel().currentRowChanged.connect(self._current)
        if link is not None:
            link.selected.connect(self.select_label)
        self.reload()

    @property
    def rows(self) -> list[Row]:
        return self.atoms.rows

    def _clicked(self, index):
        if self.link is not None:
            self.link.send(f"select {self.shown.index(index.row(), 0).data()}")

    def _current(self, index, _previous=None):
        """The details line follows the current row (and a new answer's rows)."""
        if not index.isValid():
            self.details.setText(PROMPT)
            return
        self.details.setText(details(self.atoms.rows[self.shown.mapToSource(index).row()]))

    def select_label(self, label: str) -> bool:
        """Select and show the row of `label` (as Olex2 names it, or the new label)."""
        wanted = label.upper()
        for k in range(self.shown.rowCount()):
            names = (self.shown.index(k, 0).data(), self.shown.index(k, 1).data())
            if wanted in (name.upper() for name in names):
                self.table.selectRow(k)  # and makes it the current row, whose details show
                self.table.scrollTo(self.shown.index(k, 0))
                return True
        return False

    def selected_labels(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows()
        return [index.data() for index in sorted(rows, key=lambda index: index.row())]

    def _changed(self, *_):
        QTimer.singleShot(100, self.reload)  # let the writer finish its rename

    def reload(self):
        """Show the file again where its content changed; a file that cannot be read
        (half-written, gone) is one line, the rows shown kept."""
        if not self.path.exists():
            self.status.setText(f"waiting for {self.path}")
            return
        if str(self.path) not in self.watcher.files():
            # watched before it is read: a file half-written now is read again once written
            self.watcher.addPath(str(self.path))
        try:
            assignment = read_assignment(self.path)
        except InputError as error:
            kept = f" (showing the previous {len(self.rows)} atoms)" if self.rows else ""
            self.status.setText(error.one_line() + kept)
            return
        if assignment.digest == self.digest:  # another file in the folder changed
            self._count()  # (Olex2 writes many there): no refill, the view stays as it was
            return
        self.digest = assignment.digest
        selected = self.selected_labels()
        self.title = assignment.title
        self.atoms.set_rows(assignment.rows)
        header = self.table.horizontalHeader()
        self.atoms.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.job.setPlainText("\n".join(assignment.job_lines))
        self.job.setVisible(bool(assignment.job_lines))
        self.table.setColumnHidden(DATA, not any(r.by_data for r in self.rows))
        self._fit_columns()
        self.histogram.set_rows(self.rows)
        self._threshold_changed()
        for label in selected:  # the atoms under review stay selected in the new answer
            self._select_also(label)
        self._current(self.table.currentIndex())

    def _select_also(self, label: str):
        for k in range(self.shown.rowCount()):
            if self.shown.index(k, 0).data() == label:
                self.table.selectionModel().setCurrentIndex(
                    self.shown.index(k, 0),
                    QItemSelectionModel.Select | QItemSelectionModel.Rows,
                )
                return

    def _fit_columns(self):
        """Each column as wide as what it holds (from the first rows), none wider than WIDEST."""
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.resizeSection(column, min(header.sectionSize(column), WIDEST))

    def _threshold_changed(self):
        """The count, the highlights and the filter all follow the threshold."""
        self.atoms.set_threshold(self.threshold.value())
        self.shown.refilter(self.only_doubtful.isChecked())
        self._count()

    def _count(self):
        """The status line: the atoms, the doubtful ones and those the data changed."""
        limit = self.threshold.value()
        low = sum(1 for r in self.rows if r.low(limit))
        text = (
            f"{self.title}: {len(self.rows)} atoms, {low} with an element or H probability below "
            f"{limit:.2f} (highlighted)"
        )
        if any(r.by_data for r in self.rows):
            changed = sum(1 for r in self.rows if r.changed_from)
            text += f"; {changed} changed by the data (blue)"
        self.status.setText(text)
