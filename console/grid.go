package console

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmgo/mitmgo/command"
	"github.com/mitmgo/mitmgo/internal/spec"
)

// The grid editor, as mitmproxy 12's grideditor: a table of rows ×
// columns (a flow's headers, query, form, cookies; a sequence option is a
// grid of one column). The cursor moves over cells (arrows, h/j/k/l, tab
// to the next cell); Enter edits the focused cell in a line editor (Enter
// keeps the edit, esc drops it), a adds a row after the focused one, A
// before it (both start editing the new row's first cell), d deletes the
// row, e edits the cell in $EDITOR, r and R read the cell from a file
// (R unescaping Python escapes), w saves the rows as CSV. The keymap's
// "grideditor" context binds these keys to console.grideditor.*, which
// call GridEdit and GridFile.
//
// Rows whose cells are all empty are dropped when the grid is applied, and
// so are rows with an invalid cell (check, as mitmproxy's is_error): each
// invalid cell is drawn in the error colours and its error shown when it
// is set, and the other rows' edits are kept. A grid applies its rows
// when it is left (q, esc), as mitmproxy's does in layout_popping; a live grid (the options' sequence editor) applies
// each change at once and reloads its rows, so that a value its owner
// rejects shows the value kept.
type gridEditor struct {
	title     string
	help      string
	helpTitle string // the help pane's title ("Help" when empty)
	cols      []string
	rows      [][]string
	cur       listCursor // the focused row
	col       int        // the focused column
	last      int        // rows shown by the last View

	edit  *lineEdit // the cell being edited, or nil
	live  bool
	load  func(st *State) [][]string
	apply func(st *State, rows [][]string) error
	// check says what is wrong with a row's cell col ("" when nothing);
	// nil accepts everything.
	check   func(row []string, col int) string
	applied bool
	orig    [][]string // the rows as the grid opened, to apply only a change
}

// newGrid returns a grid editor over rows (copied) with the given columns.
func newGrid(title, help string, cols []string, rows [][]string, apply func(st *State, rows [][]string) error) *gridEditor {
	g := &gridEditor{title: title, help: help, cols: cols, apply: apply}
	g.rows = copyRows(rows, len(cols))
	g.orig = g.result()
	return g
}

func copyRows(rows [][]string, n int) [][]string {
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		c := make([]string, n)
		copy(c, r)
		out = append(out, c)
	}
	return out
}

func (g *gridEditor) Title() string   { return g.title }
func (g *gridEditor) Context() string { return "grideditor" }

// RawKeys: while a cell is edited every key goes to its line editor.
func (g *gridEditor) RawKeys() bool { return g.edit != nil }

// result is the rows to apply: those with some text and no invalid cell.
func (g *gridEditor) result() [][]string {
	out, _ := g.resultAndBad()
	return out
}

// resultAndBad is result, and how many rows with text it left out as
// invalid.
func (g *gridEditor) resultAndBad() (out [][]string, bad int) {
	for _, r := range g.rows {
		if !slices.ContainsFunc(r, func(c string) bool { return c != "" }) {
			continue
		}
		if g.rowError(r) != "" {
			bad++
			continue
		}
		out = append(out, slices.Clone(r))
	}
	return out, bad
}

// cellError says what is wrong with cell c of row r ("" when nothing).
func (g *gridEditor) cellError(r []string, c int) string {
	if g.check == nil {
		return ""
	}
	return g.check(r, c)
}

// rowError is the first error of a row's cells.
func (g *gridEditor) rowError(r []string) string {
	for c := range r {
		if e := g.cellError(r, c); e != "" {
			return e
		}
	}
	return ""
}

// report shows the error of the cell just set, as mitmproxy's grid does.
func (g *gridEditor) report(st *State, r, c int) {
	if e := g.cellError(g.rows[r], c); e != "" {
		st.Error(errors.New(e))
	}
}

// changed takes a change into account: a live grid applies it now.
func (g *gridEditor) changed(st *State) {
	if !g.live {
		return
	}
	if err := g.apply(st, g.result()); err != nil {
		st.Error(err)
	}
	g.reload(st)
}

// reload shows a live grid's rows as its owner now has them.
func (g *gridEditor) reload(st *State) {
	if g.live && g.load != nil {
		pos := g.cur.pos
		g.rows = copyRows(g.load(st), len(g.cols))
		g.cur.pos = pos
		g.cur.clamp(len(g.rows))
	}
}

// Leave applies the grid when it is popped (App.settle calls it).
func (g *gridEditor) Leave(st *State) {
	if g.edit != nil {
		g.commitCell(st)
	}
	if g.live || g.applied {
		return
	}
	g.applied = true
	res, bad := g.resultAndBad()
	if bad > 0 {
		// As mitmproxy: the invalid rows are left out, the rest applies.
		st.Error(fmt.Errorf("%d invalid row(s) left out", bad))
	}
	if slices.EqualFunc(res, g.orig, slices.Equal) {
		return
	}
	if err := g.apply(st, res); err != nil {
		st.Error(err)
	}
}

// focused returns the focused cell's position, false when there is none.
func (g *gridEditor) focused() (int, int, bool) {
	if len(g.rows) == 0 {
		return 0, 0, false
	}
	g.cur.clamp(len(g.rows))
	g.col = max(min(g.col, len(g.cols)-1), 0)
	return g.cur.pos, g.col, true
}

func (g *gridEditor) startEdit() {
	r, c, ok := g.focused()
	if !ok {
		return
	}
	e := &lineEdit{}
	e.SetValue(g.rows[r][c])
	e.CursorEnd()
	g.edit = e
}

func (g *gridEditor) commitCell(st *State) {
	e := g.edit
	g.edit = nil
	r, c, ok := g.focused()
	switch {
	case ok && g.rows[r][c] != e.Value():
		g.rows[r][c] = e.Value()
		g.report(st, r, c)
		g.changed(st)
	case g.live:
		// An empty row just added is not kept.
		g.reload(st)
	}
}

// setCell sets a cell found at (r, c) when it was asked for, if the grid
// still has it.
func (g *gridEditor) setCell(st *State, r, c int, v string) {
	if r < len(g.rows) && c < len(g.cols) {
		g.rows[r][c] = v
		g.report(st, r, c)
		g.changed(st)
	}
}

// GridEdit runs a grid editor operation (console.grideditor.*): "add" a
// row after the focused one, "insert" one before it, "delete" the row,
// "editor" edits the cell in $EDITOR, "edit" in the line editor.
func (g *gridEditor) GridEdit(st *State, op string) {
	switch op {
	case "add", "insert":
		at := 0
		if len(g.rows) > 0 {
			g.cur.clamp(len(g.rows))
			at = g.cur.pos
			if op == "add" {
				at++
			}
		}
		g.rows = append(g.rows[:at], append([][]string{make([]string, len(g.cols))}, g.rows[at:]...)...)
		g.cur.pos, g.col = at, 0
		g.startEdit()
	case "delete":
		r, _, ok := g.focused()
		if !ok {
			return
		}
		g.rows = append(g.rows[:r], g.rows[r+1:]...)
		g.cur.clamp(len(g.rows))
		g.changed(st)
	case "edit":
		if len(g.rows) == 0 {
			g.GridEdit(st, "add")
			return
		}
		g.startEdit()
	case "editor":
		r, c, ok := g.focused()
		if !ok {
			return
		}
		if st.app == nil {
			g.startEdit()
			return
		}
		err := st.app.c.external(editorCommand, []byte(g.rows[r][c]), ".txt", func(st *State, edited []byte) {
			g.setCell(st, r, c, strings.TrimRight(string(edited), "\r\n"))
		})
		if err != nil {
			st.Error(err)
		}
	}
}

// GridFile runs the grid editor's file operations (console.grideditor.load,
// load_escaped, save): "load" reads a file into the focused cell,
// "load_escaped" one holding Python string escapes, "save" writes the rows
// to a file as CSV.
func (g *gridEditor) GridFile(st *State, op, path string) {
	if op == "save" {
		if err := saveCSV(path, g.result()); err != nil {
			st.Error(err)
			return
		}
		st.Message(fmt.Sprintf("Saved %d rows as CSV.", len(g.result())))
		return
	}
	r, c, ok := g.focused()
	if !ok {
		st.Error(fmt.Errorf("No cell to load into: a adds a row."))
		return
	}
	v, err := loadCell(path, op == "load_escaped")
	if err != nil {
		st.Error(err)
		return
	}
	g.setCell(st, r, c, v)
}

func saveCSV(path string, rows [][]string) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("cannot write CSV: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return command.Errorf("Cannot write %s: %s", path, err)
	}
	return nil
}

// loadCell reads a file for a cell; escaped files hold Python string
// escapes (\n, \x00...), which are decoded.
func loadCell(path string, escaped bool) (string, error) {
	b, err := os.ReadFile(strings.TrimSpace(path))
	if err != nil {
		return "", command.Errorf("Cannot read %s: %s", path, err)
	}
	if escaped {
		// mitmproxy's escaped_str_to_bytes, which modify_body and
		// modify_headers use too.
		s, err := spec.EscapeDecode(strings.TrimRight(string(b), "\r\n"))
		if err != nil {
			return "", command.Errorf("Invalid Python-style string encoding.")
		}
		return s, nil
	}
	return string(b), nil
}

func (g *gridEditor) Update(msg tea.Msg, st *State) (Screen, tea.Cmd) {
	if g.edit != nil {
		if m, ok := msg.(tea.KeyMsg); ok {
			switch KeyName(m) {
			case "enter":
				g.commitCell(st)
			case "esc":
				g.edit = nil
				g.reload(st)
			case "ctrl c":
				// As everywhere else, even while typing.
				st.Quit()
			case "tab":
				g.commitCell(st)
				g.next()
			default:
				g.edit.Update(m)
			}
		}
		return g, nil
	}
	if m, ok := msg.(tea.KeyMsg); ok {
		// Keys the keymap leaves to the grid (when its context has no
		// binding for them).
		switch KeyName(m) {
		case "a":
			g.GridEdit(st, "add")
		case "A":
			g.GridEdit(st, "insert")
		case "d":
			g.GridEdit(st, "delete")
		case "e":
			g.GridEdit(st, "editor")
		case "left":
			g.col = max(g.col-1, 0)
		case "right":
			g.col = min(g.col+1, len(g.cols)-1)
		case "tab":
			g.next()
		}
	}
	nav, ok := listNav(msg)
	if !ok {
		return g, nil
	}
	switch nav {
	case NavSelect:
		g.GridEdit(st, "edit")
	case NavLeft:
		g.col = max(g.col-1, 0)
	case NavRight:
		g.col = min(g.col+1, len(g.cols)-1)
	case NavNext:
		g.next()
	default:
		g.cur.move(nav, len(g.rows), g.last)
	}
	return g, nil
}

// next moves to the next cell, to the next row's first after the last.
func (g *gridEditor) next() {
	if g.col < len(g.cols)-1 {
		g.col++
		return
	}
	if g.cur.pos < len(g.rows)-1 {
		g.col = 0
		g.cur.pos++
	}
}

// colWidths shares the width among the columns: every column but the last
// as wide as its widest cell (up to an equal share), the last the rest.
func (g *gridEditor) colWidths(width int) []int {
	n := len(g.cols)
	ws := make([]int, n)
	used := 0
	for i := 0; i < n-1; i++ {
		w := len(g.cols[i])
		for _, r := range g.rows {
			w = max(w, ansi.StringWidth(r[i]))
		}
		if g.edit != nil && g.col == i {
			// Room for the text being typed and the cursor.
			w = max(w, ansi.StringWidth(g.edit.Value())+1)
		}
		ws[i] = max(min(w, width/n), 1)
		used += ws[i] + 2
	}
	ws[n-1] = max(width-used, 1)
	return ws
}

func (g *gridEditor) View(st *State, width, height int) string {
	ws := g.colWidths(width)
	fr, fc, _ := g.focused()
	return listWithHelp(st, width, height, func(h int) []string {
		g.last = h - 1
		var head []string
		for i, c := range g.cols {
			head = append(head, fitCells(c, ws[i]))
		}
		out := []string{st.Style("heading").Render(fitCells(strings.Join(head, "  "), width))}
		if len(g.rows) == 0 {
			return append(out, st.Style("text").Render("(empty: a adds a row)"))
		}
		from, to := g.cur.window(len(g.rows), h-1)
		for i := from; i < to; i++ {
			var cells []string
			for j, v := range g.rows[i] {
				switch {
				case i == fr && j == fc && g.edit != nil:
					g.edit.Width = ws[j]
					cells = append(cells, fitCells(st.Style("editfield").Render(g.edit.View(st.Style("focus"))), ws[j]))
				case i == fr && j == fc:
					style := "focusfield"
					if g.cellError(g.rows[i], j) != "" {
						style = "focusfield_error"
					}
					cells = append(cells, st.Style(style).Render(fitCells(clean(v), ws[j])))
				default:
					style := "text"
					if g.cellError(g.rows[i], j) != "" {
						style = "field_error"
					}
					cells = append(cells, st.Style(style).Render(fitCells(clean(v), ws[j])))
				}
			}
			out = append(out, strings.Join(cells, "  "))
		}
		return out
	}, cmp.Or(g.helpTitle, "Help"), g.help)
}

// gridHelpText is the key help below every grid.
const gridHelpText = "a: add row after, A: add row before, d: delete row, enter: edit cell (esc cancels), " +
	"e: cell in $EDITOR, r/R: load cell from file (R: escaped), w: save as CSV, q: done"
