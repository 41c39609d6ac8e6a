package host

import (
	"context"

	"github.com/onexhost/onex-host/host/container"
	"github.com/onexhost/onex-host/host/events"
)

// Names under which the host registers its services in its container (see
// Host.Services). Each is safe for concurrent use.
const (
	ServiceLogger       = "logger"       // *slog.Logger
	ServiceEvents       = "events"       // *events.Bus
	ServiceCache        = "cache"        // CacheService
	ServiceBreakers     = "breakers"     // BreakerService
	ServiceTransactions = "transactions" // TransactionService
	ServiceKV           = "kv"           // KVService
)

// CacheService is the compute cache as a service.
type CacheService interface {
	CacheStats() CacheStats
	ClearCache(ctx context.Context) error
}

// BreakerService is the circuit-breaker registry as a service.
type BreakerService interface {
	Breakers() []BreakerStats
	ForceOpenBreaker(service string)
	ForceCloseBreaker(service string)
	ResetBreaker(service string)
}

// TransactionService reports the effect transactions.
type TransactionService interface {
	TransactionStats() TransactionStats
}

// KVService opens the host's key-value store (on first use) for the nodes granted it.
type KVService interface {
	// KVReady opens the store if needed and reports whether it is usable.
	KVReady(ctx context.Context) error
}

// KVReady opens the key-value store if needed.
func (h *Host) KVReady(ctx context.Context) error {
	_, err := h.kvDB()
	return err
}

// buildContainer registers the host's services under their names and freezes them: a
// lookup afterwards takes no lock, and a late registration is an error.
func (h *Host) buildContainer() *container.Container {
	b := container.NewBuilder()
	for name, svc := range map[string]any{
		ServiceLogger:       h.cfg.Logger,
		ServiceEvents:       h.bus,
		ServiceCache:        CacheService(h),
		ServiceBreakers:     BreakerService(h),
		ServiceTransactions: TransactionService(h),
		ServiceKV:           KVService(h),
	} {
		if err := b.Register(name, svc); err != nil {
			panic(err) // the names above are fixed and distinct
		}
	}
	return b.Build()
}

// Services returns the host's frozen service container: the logger, the event bus, the
// cache, the breakers, the transactions and the key-value store, by the Service* names.
// The server and embedders reach the host's shared services through it.
func (h *Host) Services() *container.Container { return h.container }

// busOf looks up the event bus in c, which effect nodes publish to.
func busOf(c *container.Container) *events.Bus {
	bus, err := container.Get[*events.Bus](c, ServiceEvents)
	if err != nil {
		panic(err) // registered by New
	}
	return bus
}
