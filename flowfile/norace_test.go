//go:build !race

package flowfile

const raceEnabled = false
