//go:build race

package meter

// raceEnabled reports that the tests run under the race detector, where wazero's
// interpreter is slow enough to skip what a run without it covers (see the Makefile).
const raceEnabled = true
