package effect_test

import (
	"testing"

	"github.com/onexhost/onex-host/host/internal/hosttest"
)

func TestMain(m *testing.M) {
	hosttest.Main(m, "plugins/testdata/effects", "plugins/fileops", "plugins/httpcall")
}
