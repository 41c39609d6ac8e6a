//go:build !race

package meter

// raceEnabled reports that the tests run under the race detector.
const raceEnabled = false
