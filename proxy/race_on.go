//go:build race

package proxy

// raceEnabled: built with -race (see sysIO).
const raceEnabled = true
