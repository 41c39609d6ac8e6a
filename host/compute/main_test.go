package compute_test

import (
	"testing"

	"github.com/onexhost/onex-host/host/internal/hosttest"
)

func TestMain(m *testing.M) {
	hosttest.Main(m, "plugins/core", "plugins/testdata/chatty", "plugins/testdata/loop")
}
