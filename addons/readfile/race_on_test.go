//go:build race

package readfile

const raceEnabled = true
