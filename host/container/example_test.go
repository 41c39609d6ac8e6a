package container_test

import (
	"fmt"
	"log/slog"

	"github.com/onexhost/onex-host/host/container"
)

func Example() {
	b := container.NewBuilder()
	_ = b.Register("logger", slog.Default())
	c := b.Build() // frozen: lookups are lock-free from here on

	logger, err := container.Get[*slog.Logger](c, "logger")
	fmt.Println(logger != nil, err)
	fmt.Println(b.Register("late", 1))
	// Output:
	// true <nil>
	// container: frozen: services are registered before Build ("late")
}
