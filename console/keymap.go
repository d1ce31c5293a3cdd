package console

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"gopkg.in/yaml.v3"
)

// Contexts are the keymap's contexts, as mitmproxy's: a key is looked up in
// the current screen's context, then in "global".
var Contexts = []string{
	"chooser", "commands", "commonkey", "dataviewer", "eventlog", "flowlist", "flowview",
	"global", "grideditor", "help", "keybindings", "options",
}

// Binding is one key binding: a key (mitmproxy's spelling: "j", "ctrl f",
// "shift tab", "space", "enter", "esc", "page down"), the command line it
// runs, the contexts it is bound in and its help.
type Binding struct {
	Key      string
	Command  string
	Contexts []string
	Help     string
}

// Keymap holds the bindings, by context and key. It is safe for concurrent
// use: console.key.bind and console.key.unbind may run on any goroutine (a
// script, mitmweb's command bar) and return their real error, while the UI
// looks keys up. The Bindings it returns are copies, which a later change
// does not touch.
type Keymap struct {
	mu       sync.Mutex
	bindings []*Binding
	keys     map[string]map[string]*Binding
	// gen counts the changes (what is drawn of the bindings is kept until
	// it changes).
	gen uint64
}

// NewKeymap returns an empty keymap.
func NewKeymap() *Keymap { return &Keymap{keys: map[string]map[string]*Binding{}} }

// DefaultKeymap returns mitmproxy 12's default bindings.
func DefaultKeymap() *Keymap {
	km := NewKeymap()
	for _, d := range defaultBindings {
		if err := km.Add(d.Key, d.Command, d.Contexts, d.Help); err != nil {
			panic(err) // the defaults are constant
		}
	}
	return km
}

func checkContexts(ctxs []string) error {
	if len(ctxs) == 0 {
		return errors.New("must specify at least one context")
	}
	for _, c := range ctxs {
		if !slices.Contains(Contexts, c) {
			return fmt.Errorf("unsupported context: %q (one of %s)", c, strings.Join(Contexts, ", "))
		}
	}
	return nil
}

// Add binds key to command in contexts, replacing what the key did there.
// Adding a key with the command it already has in other contexts adds the
// contexts to that binding, as mitmproxy does.
func (k *Keymap) Add(key, command string, contexts []string, help string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.addLocked(key, command, contexts, help)
}

func (k *Keymap) addLocked(key, command string, contexts []string, help string) error {
	if err := checkContexts(contexts); err != nil {
		return err
	}
	key = normKey(key)
	if key == "" {
		return errors.New("empty key")
	}
	for _, b := range k.bindings {
		if b.Key == key && strings.TrimSpace(b.Command) == strings.TrimSpace(command) {
			// Take the contexts from whatever holds them now first.
			for _, c := range contexts {
				if o := k.get(c, key); o != nil && o != b {
					k.removeFrom(o, c)
				}
			}
			for _, c := range contexts {
				if !slices.Contains(b.Contexts, c) {
					b.Contexts = append(b.Contexts, c)
				}
			}
			sort.Strings(b.Contexts)
			if help != "" {
				b.Help = help
			}
			k.bind(b)
			return nil
		}
	}
	if err := k.removeLocked(key, contexts); err != nil {
		return err
	}
	b := &Binding{Key: key, Command: command, Contexts: slices.Sorted(slices.Values(contexts)), Help: help}
	k.bindings = append(k.bindings, b)
	k.bind(b)
	return nil
}

// Remove unbinds key in contexts.
func (k *Keymap) Remove(key string, contexts []string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.removeLocked(key, contexts)
}

func (k *Keymap) removeLocked(key string, contexts []string) error {
	if err := checkContexts(contexts); err != nil {
		return err
	}
	key = normKey(key)
	for _, c := range contexts {
		if b := k.get(c, key); b != nil {
			k.removeFrom(b, c)
		}
	}
	return nil
}

func (k *Keymap) removeFrom(b *Binding, c string) {
	k.gen++
	delete(k.keys[c], b.Key)
	b.Contexts = slices.DeleteFunc(b.Contexts, func(x string) bool { return x == c })
	if len(b.Contexts) == 0 {
		k.bindings = slices.DeleteFunc(k.bindings, func(x *Binding) bool { return x == b })
	}
}

func (k *Keymap) bind(b *Binding) {
	k.gen++
	for _, c := range b.Contexts {
		if k.keys[c] == nil {
			k.keys[c] = map[string]*Binding{}
		}
		k.keys[c][b.Key] = b
	}
}

// Get returns the binding of key in context exactly, or nil.
func (k *Keymap) Get(context, key string) *Binding {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.get(context, key).clone()
}

// clone copies b (nil stays nil).
func (b *Binding) clone() *Binding {
	if b == nil {
		return nil
	}
	c := *b
	c.Contexts = slices.Clone(b.Contexts)
	return &c
}

func (k *Keymap) get(context, key string) *Binding {
	return k.keys[context][normKey(key)]
}

// Gen counts the changes of the bindings: what is drawn of them is kept
// while it stays.
func (k *Keymap) Gen() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gen
}

// Lookup returns what key does in context: its binding there, or in
// "global".
func (k *Keymap) Lookup(context, key string) *Binding {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b := k.get(context, key); b != nil {
		return b.clone()
	}
	return k.get("global", key).clone()
}

// List returns the bindings of a context ("all" for every binding):
// single keys first, then key sequences, each sorted by key and contexts.
func (k *Keymap) List(context string) []*Binding {
	k.mu.Lock()
	defer k.mu.Unlock()
	var single, multi []*Binding
	for _, b := range k.bindings {
		if context != "all" && !slices.Contains(b.Contexts, context) {
			continue
		}
		if len(strings.Fields(b.Key)) == 1 {
			single = append(single, b.clone())
		} else {
			multi = append(multi, b.clone())
		}
	}
	sortKey := func(b *Binding) string { return b.Key + strings.Join(b.Contexts, ",") }
	for _, l := range [][]*Binding{single, multi} {
		sort.SliceStable(l, func(i, j int) bool { return sortKey(l[i]) < sortKey(l[j]) })
	}
	return append(single, multi...)
}

// ForHelp returns the first binding whose help is help (the quick-help bar
// shows its key), or nil.
func (k *Keymap) ForHelp(help string) *Binding {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, b := range k.bindings {
		if b.Help == help {
			return b.clone()
		}
	}
	return nil
}

// KeyShort is the key as the help bar shows it (⏎, →, ␣).
func (b *Binding) KeyShort() string {
	return keyShortNames.Replace(b.Key)
}

// keyShortNames spells keys for the help bar (a Replacer is safe for
// concurrent use and never changes).
var keyShortNames = strings.NewReplacer("enter", "⏎", "right", "→", "space", "␣")

// normKey spells a key as mitmproxy's keymaps do: a literal space is
// "space"; several spaces are one.
func normKey(key string) string {
	if key == " " {
		return "space"
	}
	return strings.Join(strings.Fields(key), " ")
}

// KeyName is the keymap's name of a key press: "j", "G", "ctrl f",
// "shift tab", "space", "enter", "esc", "up", "page down", "meta x".
func KeyName(msg tea.KeyMsg) string {
	switch msg.Type {
	case tea.KeyRunes:
		s := string(msg.Runes)
		if s == " " {
			s = "space"
		}
		if msg.Alt {
			return "meta " + s
		}
		return s
	case tea.KeySpace:
		return "space"
	case tea.KeyEnter:
		return "enter"
	case tea.KeyEsc:
		return "esc"
	case tea.KeyTab:
		return "tab"
	case tea.KeyShiftTab:
		return "shift tab"
	case tea.KeyPgDown:
		return "page down"
	case tea.KeyPgUp:
		return "page up"
	case tea.KeyBackspace:
		return "backspace"
	}
	s := msg.String()
	s = strings.ReplaceAll(s, "alt+", "meta+")
	s = strings.ReplaceAll(s, "+", " ")
	return s
}

// keys.yaml ------------------------------------------------------------------

// KeysFile is the name of the key bindings file in the confdir.
const KeysFile = "keys.yaml"

// ParseKeys parses key bindings in mitmproxy's keys.yaml format: a list of
// mappings with "key" and "cmd" (strings), and optional "ctx" (a list of
// contexts, ["global"] when absent) and "help" (a string). Errors name the
// entry and what is wrong with it.
func ParseKeys(data []byte) ([]Binding, error) {
	var doc any
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("key binding config error: %w", err)
	}
	if doc == nil {
		return nil, nil
	}
	list, ok := doc.([]any)
	if !ok {
		return nil, errors.New("invalid keybinding config - expected a list of keys")
	}
	var out []Binding
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("entry %d: expected a mapping with key and cmd", i+1)
		}
		var unknown []string
		for k := range m {
			switch k {
			case "key", "cmd", "ctx", "help":
			default:
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return nil, fmt.Errorf("entry %d: unknown key attributes: %s", i+1, strings.Join(unknown, ", "))
		}
		var missing []string
		for _, k := range []string{"key", "cmd"} {
			if _, ok := m[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("entry %d: missing required key attributes: %s", i+1, strings.Join(missing, ", "))
		}
		b := Binding{Contexts: []string{"global"}}
		if b.Key, ok = m["key"].(string); !ok {
			return nil, fmt.Errorf("entry %d: invalid type for key (a string)", i+1)
		}
		if b.Command, ok = m["cmd"].(string); !ok {
			return nil, fmt.Errorf("entry %d (key %q): invalid type for cmd (a string)", i+1, b.Key)
		}
		if h, ok := m["help"]; ok {
			if b.Help, ok = h.(string); !ok {
				return nil, fmt.Errorf("entry %d (key %q): invalid type for help (a string)", i+1, b.Key)
			}
		}
		if c, ok := m["ctx"]; ok {
			l, ok := c.([]any)
			if !ok {
				return nil, fmt.Errorf("entry %d (key %q): invalid type for ctx (a list of contexts)", i+1, b.Key)
			}
			b.Contexts = nil
			for _, x := range l {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("entry %d (key %q): invalid type for ctx (a list of contexts)", i+1, b.Key)
				}
				b.Contexts = append(b.Contexts, s)
			}
		}
		if err := checkContexts(b.Contexts); err != nil {
			return nil, fmt.Errorf("entry %d (key %q): %w", i+1, b.Key, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// LoadFile applies the bindings of a keys.yaml file; a missing file is not
// an error. Errors name the file.
func (k *Keymap) LoadFile(path string) error {
	// As mitmproxy's load_path: a path that is not a file is no keys file.
	if st, err := os.Stat(path); errors.Is(err, os.ErrNotExist) || (err == nil && !st.Mode().IsRegular()) {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	bs, err := ParseKeys(data)
	if err != nil {
		return fmt.Errorf("error reading %s: %w", path, err)
	}
	for _, b := range bs {
		if err := k.Remove(b.Key, b.Contexts); err != nil {
			return fmt.Errorf("error reading %s: %w", path, err)
		}
		if err := k.Add(b.Key, b.Command, b.Contexts, b.Help); err != nil {
			return fmt.Errorf("error reading %s: %w", path, err)
		}
	}
	return nil
}

// The default bindings (mitmproxy 12's defaultkeys.py).
var defaultBindings = []Binding{
	{":", "console.command ", []string{"commonkey", "global"}, "Command prompt"},
	{";", "console.command flow.comment @focus ''", []string{"flowlist", "flowview"}, "Add comment to flow"},
	{"?", "console.view.help", []string{"global"}, "View help"},
	{"B", "browser.start", []string{"global"}, "Start an attached browser"},
	{"C", "console.view.commands", []string{"global"}, "View commands"},
	{"K", "console.view.keybindings", []string{"global"}, "View key bindings"},
	{"O", "console.view.options", []string{"commonkey", "global"}, "View options"},
	{"E", "console.view.eventlog", []string{"commonkey", "global"}, "View event log"},
	{"Q", "console.exit", []string{"global"}, "Exit immediately"},
	{"q", "console.view.pop", []string{"commonkey", "global"}, "Exit the current view"},
	{"esc", "console.view.pop", []string{"commonkey", "global"}, "Exit the current view"},
	{"H", "set console_quickhelp_visible toggle", []string{"global"}, "Toggle quick help bar visibility"},
	{"-", "console.layout.cycle", []string{"global"}, "Cycle to next layout"},
	{"ctrl right", "console.panes.next", []string{"global"}, "Focus next layout pane"},
	{"ctrl left", "console.panes.prev", []string{"global"}, "Focus previous layout pane"},
	{"shift tab", "console.panes.next", []string{"global"}, "Focus next layout pane"},
	{"P", "console.view.flow @focus", []string{"global"}, "View flow details"},
	{"?", "console.view.pop", []string{"help"}, "Exit help"},
	{"g", "console.nav.start", []string{"global"}, "Go to start"},
	{"G", "console.nav.end", []string{"global"}, "Go to end"},
	{"k", "console.nav.up", []string{"global"}, "Up"},
	{"j", "console.nav.down", []string{"global"}, "Down"},
	{"l", "console.nav.right", []string{"global"}, "Right"},
	{"h", "console.nav.left", []string{"global"}, "Left"},
	{"tab", "console.nav.next", []string{"commonkey", "global"}, "Next"},
	{"enter", "console.nav.select", []string{"commonkey", "global"}, "Select"},
	{"space", "console.nav.pagedown", []string{"global"}, "Page down"},
	{"ctrl f", "console.nav.pagedown", []string{"global"}, "Page down"},
	{"ctrl b", "console.nav.pageup", []string{"global"}, "Page up"},
	{"I", "set intercept_active toggle", []string{"global"}, "Toggle whether the filtering via the intercept option is enabled"},
	{"i", "console.command.set intercept", []string{"global"}, "Set intercept"},
	{"W", "console.command.set save_stream_file", []string{"global"}, "Stream to file"},
	{"A", "flow.resume @all", []string{"flowlist", "flowview"}, "Resume all intercepted flows"},
	{"a", "flow.resume @focus", []string{"flowlist", "flowview"}, "Resume this intercepted flow"},
	{"b", "console.command cut.save @focus response.content ", []string{"flowlist", "flowview"}, "Save response body to file"},
	{"d", "view.flows.remove @focus", []string{"flowlist", "flowview"}, "Delete flow from view"},
	{"D", "view.flows.duplicate @focus", []string{"flowlist", "flowview"}, "Duplicate flow"},
	{"x", "console.choose.cmd \"Export as...\" export.formats\nconsole.command export.file {choice} @focus", []string{"flowlist", "flowview"}, "Export this flow to file"},
	{"f", "console.command.set view_filter", []string{"flowlist"}, "Set view filter"},
	{"F", "set console_focus_follow toggle", []string{"flowlist", "flowview"}, "Set focus follow"},
	{"ctrl l", "console.command cut.clip ", []string{"flowlist", "flowview"}, "Send cuts to clipboard"},
	{"L", "console.command view.flows.load ", []string{"flowlist"}, "Load flows from file"},
	{"m", "flow.mark.toggle @focus", []string{"flowlist"}, "Toggle mark on this flow"},
	{"M", "view.properties.marked.toggle", []string{"flowlist"}, "Toggle viewing marked flows"},
	{"n", "console.command view.flows.create get https://example.com/", []string{"flowlist"}, "Create a new flow"},
	{"o", "console.choose.cmd \"Order flows by...\" view.order.options\nset view_order {choice}", []string{"flowlist"}, "Set flow list order"},
	{"r", "replay.client @focus", []string{"flowlist", "flowview"}, "Replay this flow"},
	{"S", "console.command replay.server ", []string{"flowlist"}, "Start server replay"},
	{"v", "set view_order_reversed toggle", []string{"flowlist"}, "Reverse flow list order"},
	{"U", "flow.mark @all false", []string{"flowlist"}, "Un-set all marks"},
	{"w", "console.command save.file @shown ", []string{"flowlist"}, "Save listed flows to file"},
	{"V", "flow.revert @focus", []string{"flowlist", "flowview"}, "Revert changes to this flow"},
	{"X", "flow.kill @focus", []string{"flowlist"}, "Kill this flow"},
	{"z", "console.command.confirm \"Delete all flows\" view.flows.remove @all", []string{"flowlist"}, "Clear flow list"},
	{"Z", "console.command.confirm \"Purge all hidden flows\" view.flows.remove @hidden", []string{"flowlist"}, "Purge all flows not showing"},
	{"|", "console.command script.run @focus ", []string{"flowlist", "flowview"}, "Run a script on this flow"},
	{"e", "console.choose.cmd \"Edit...\" console.edit.focus.options\nconsole.edit.focus {choice}", []string{"flowlist", "flowview"}, "Edit a flow component"},
	{"f", "view.settings.setval.toggle @focus fullcontents", []string{"flowview"}, "Toggle viewing full contents on this flow"},
	{"w", "console.command save.file @focus ", []string{"flowview"}, "Save flow to file"},
	{"space", "view.focus.next", []string{"flowview"}, "Go to next flow"},
	{"v", "console.choose \"View...\" request,response\nconsole.bodyview @focus {choice}", []string{"flowview"}, "View flow body in an external viewer"},
	{"p", "view.focus.prev", []string{"flowview"}, "Go to previous flow"},
	{"m", "console.choose.cmd \"Set contentview...\" console.flowview.mode.options\nconsole.flowview.mode.set {choice}", []string{"flowview"}, "Set flow view mode"},
	{"z", "console.choose \"Encode/decode...\" request,response\nflow.encode.toggle @focus {choice}", []string{"flowview"}, "Encode/decode flow body"},
	{"/", "console.command console.search ", []string{"flowview"}, "Search in bodies"},
	{"n", "console.search.next", []string{"flowview"}, "Next search match"},
	{"N", "console.search.prev", []string{"flowview"}, "Previous search match"},
	{"L", "console.command options.load ", []string{"options"}, "Load from file"},
	{"S", "console.command options.save ", []string{"options"}, "Save to file"},
	{"D", "options.reset", []string{"options"}, "Reset all options"},
	{"d", "console.options.reset.focus", []string{"options"}, "Reset this option"},
	{"a", "console.grideditor.add", []string{"grideditor"}, "Add a row after cursor"},
	{"A", "console.grideditor.insert", []string{"grideditor"}, "Insert a row before cursor"},
	{"d", "console.grideditor.delete", []string{"grideditor"}, "Delete this row"},
	{"r", "console.command console.grideditor.load", []string{"grideditor"}, "Read unescaped data into the current cell from file"},
	{"R", "console.command console.grideditor.load_escaped", []string{"grideditor"}, "Load a Python-style escaped string into the current cell from file"},
	{"e", "console.grideditor.editor", []string{"grideditor"}, "Edit in external editor"},
	{"w", "console.command console.grideditor.save ", []string{"grideditor"}, "Save data to file as CSV"},
	{"z", "console.command.confirm \"Clear event log\" eventstore.clear", []string{"eventlog"}, "Clear"},
	{"a", "console.choose.cmd \"Context\" console.key.contexts\nconsole.command console.key.bind {choice}", []string{"keybindings"}, "Add a key binding"},
	{"d", "console.key.unbind.focus", []string{"keybindings"}, "Unbind the currently focused key binding"},
	{"x", "console.key.execute.focus", []string{"keybindings"}, "Execute the currently focused key binding"},
	{"enter", "console.key.edit.focus", []string{"keybindings"}, "Edit the currently focused key binding"},
}
