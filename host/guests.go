package host

import (
	"errors"
	"log/slog"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capcall"
	"github.com/onexhost/onex-host/host/internal/guest"
)

// The host's side of host/internal/guest: what a flavour's instances read of their
// Plugin, the capabilities an effect attempt lends a native guest, and the one place a
// flavour's *guest.Failure becomes a *PluginError.

// guestPlugin is a Plugin as its instances see it (guest.Plugin). Its methods read the
// Plugin's fields when called: the load sets the manifest, name and limits after the
// first instance exists, before any call and before the pool is pre-warmed.
type guestPlugin Plugin

// Limits returns the plugin's limits in force.
func (g *guestPlugin) Limits() guest.Limits {
	l := &g.limits
	// Making an instance is waiting for one, not the call: a short call budget must not
	// fail the guest runtime's start on a busy machine (see Config.Timeout).
	init := max(l.timeout, DefaultTimeout)
	return guest.Limits{Timeout: l.timeout, InitTimeout: init, Fuel: l.fuel,
		MaxInput: l.maxInput, MaxOutput: l.maxOutput, MemoryPages: l.memoryPages}
}

// Kind returns the manifest's node kind.
func (g *guestPlugin) Kind() abi.Kind { return g.manifest.Kind }

// Logger returns the plugin's logger.
func (g *guestPlugin) Logger() *slog.Logger { return g.logger }

// Watch returns a new slot in the host's watchdog (see stuck.go).
func (g *guestPlugin) Watch(onExpire func()) guest.Watch {
	w := &callWatch{}
	w.init((*Plugin)(g), onExpire)
	return w
}

// ReportsStuck reports whether Config.StuckGrace is set.
func (g *guestPlugin) ReportsStuck() bool { return g.host.cfg.StuckGrace > 0 }

// Config returns a config value of the plugin (see configValues.value).
func (g *guestPlugin) Config(key string) (string, abi.Status) {
	return g.config.Load().value(&g.manifest, key)
}

// capsOf returns a's capabilities (a *capcall.Attempt is a guest.Capabilities), or nil
// for no attempt: a nil *Attempt in the interface would not be a nil interface.
func capsOf(a *capcall.Attempt) guest.Capabilities {
	if a == nil {
		return nil
	}
	return a
}

// pluginError returns err as the *PluginError callers see: a *guest.Failure from a flavour
// becomes one naming p; any other error is returned as it is.
func (p *Plugin) pluginError(err error) error {
	f, ok := errors.AsType[*guest.Failure](err)
	if !ok {
		return err
	}
	return &PluginError{Plugin: p.name, Op: f.Op, Kind: failureKinds[f.Kind], Status: f.Status, Code: f.Code,
		Message: f.Message, Retryable: f.Retryable, Cause: f.Cause}
}

// failureKinds maps each guest.Kind onto its sentinel.
var failureKinds = [...]error{
	guest.KindFailed:             ErrFailed,
	guest.KindInvalidModule:      ErrInvalidModule,
	guest.KindCommandModule:      ErrCommandModule,
	guest.KindABIVersion:         ErrABIVersion,
	guest.KindUnknownImport:      ErrUnknownImport,
	guest.KindInvalidManifest:    ErrInvalidManifest,
	guest.KindCapabilityDenied:   ErrCapabilityDenied,
	guest.KindUnsupported:        ErrUnsupported,
	guest.KindUnknownComputation: ErrUnknownComputation,
	guest.KindInvalidInput:       ErrInvalidInput,
	guest.KindOutputTooLarge:     ErrOutputTooLarge,
	guest.KindTimeout:            ErrTimeout,
	guest.KindCanceled:           ErrCanceled,
	guest.KindMemoryLimit:        ErrMemoryLimit,
	guest.KindTrap:               ErrTrap,
	guest.KindPanic:              ErrPanic,
	guest.KindOutOfBounds:        ErrOutOfBounds,
	guest.KindFuelExhausted:      ErrFuelExhausted,
	guest.KindUnavailable:        ErrUnavailable,
	guest.KindNotFound:           ErrNotFound,
	guest.KindClosed:             ErrClosed,
}
