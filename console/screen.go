package console

import tea "github.com/charmbracelet/bubbletea"

// Screen is one full-window view of the console (flow list, flow view, event
// log, options, help...). The app keeps a stack of screens: the top one is
// shown and receives the keys the keymap does not bind in its context.
// Screens change the stack through the State (Push, Pop), not by returning
// a different screen: Update returns the screen itself, possibly changed.
type Screen interface {
	// Title is shown in the window's title bar.
	Title() string
	// Update receives key presses not bound by the keymap (tea.KeyMsg),
	// mouse events, tea.WindowSizeMsg and the app's own messages
	// (RefreshMsg when flows or the log changed).
	Update(msg tea.Msg, st *State) (Screen, tea.Cmd)
	// View renders the screen's body (without title and status bars) in
	// exactly width x height cells.
	View(st *State, width, height int) string
}

// Contexter is implemented by screens whose keys are bound in a keymap
// context other than "global" (mitmproxy's "flowlist", "flowview",
// "eventlog", "options", "help", "keybindings", "commands"...). Keys are
// looked up in the screen's context first, then in "global".
type Contexter interface {
	Context() string
}

// RefreshMsg tells the screens that flows or the event log changed.
type RefreshMsg struct{}
