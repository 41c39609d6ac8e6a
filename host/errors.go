package host

import (
	"errors"
	"strings"

	"github.com/onexhost/onex-host/abi"
)

// Sentinel errors. Every failure that involves a plugin is a *PluginError whose Is method
// matches exactly one of these, so callers test with errors.Is.
var (
	// ErrInvalidModule is returned by Load for bytes that are not a valid Wasm module, or a
	// module that lacks (or mistypes) an export the ABI requires.
	ErrInvalidModule = errors.New("host: invalid module")
	// ErrCommandModule is returned by Load for a command-mode module (one exporting
	// _start). Go plugins must be built with -buildmode=c-shared.
	ErrCommandModule = errors.New("host: command-mode module")
	// ErrABIVersion is returned by Load for a module declaring an ABI version this host
	// does not support, or none, or several.
	ErrABIVersion = errors.New("host: unsupported ABI version")
	// ErrUnknownImport is returned by Load for a module importing something the host does
	// not provide.
	ErrUnknownImport = errors.New("host: unknown import")
	// ErrInvalidManifest is returned by Load for a missing or invalid node manifest; it
	// also matches abi.ErrInvalidManifest when the manifest broke a format rule.
	ErrInvalidManifest = errors.New("host: invalid manifest")
	// ErrInvalidConfig is returned by Load when the operator's config values do not fit
	// the manifest's declared config keys: a key the manifest does not declare, or a
	// required key without a value. The message names the key, never a value.
	ErrInvalidConfig = errors.New("host: invalid plugin config")
	// ErrCapabilityDenied is returned by Load when the manifest requests a capability the
	// operator did not grant.
	ErrCapabilityDenied = errors.New("host: capability not granted")
	// ErrUnsupported is returned when a plugin is asked for something its kind does not
	// offer, such as running an effect node as a compute node.
	ErrUnsupported = errors.New("host: unsupported operation")
	// ErrUnknownComputation is returned for a computation the manifest does not offer.
	ErrUnknownComputation = errors.New("host: unknown computation")
	// ErrInvalidInput is returned for input that is not valid JSON, that its
	// computation's input schema refuses (Code CodeInvalidInput, before the guest runs),
	// or that the guest could not decode.
	ErrInvalidInput = errors.New("host: invalid input")
	// ErrInputTooLarge is returned before the call for input larger than the limit.
	ErrInputTooLarge = errors.New("host: input too large")
	// ErrOutputTooLarge is returned for guest output larger than the limit.
	ErrOutputTooLarge = errors.New("host: output too large")
	// ErrInvalidOutput is returned when a guest's result is not valid JSON.
	ErrInvalidOutput = errors.New("host: invalid output")
	// ErrTimeout is returned when the call's deadline (the host's, the plugin's or the
	// caller's) passed; the guest was stopped and its instance discarded.
	ErrTimeout = errors.New("host: timeout")
	// ErrCanceled is returned when the caller's context was canceled during the call.
	ErrCanceled = errors.New("host: canceled")
	// ErrMemoryLimit is returned when the guest trapped after running into its memory
	// limit.
	ErrMemoryLimit = errors.New("host: memory limit exceeded")
	// ErrTrap is returned when the guest trapped (unreachable, out-of-bounds access, stack
	// exhaustion, a crashed guest runtime); the instance is discarded.
	ErrTrap = errors.New("host: guest trapped")
	// ErrPanic is returned when a handler panicked and the guest recovered (StatusPanic).
	ErrPanic = errors.New("host: guest panicked")
	// ErrOutOfBounds is returned when the guest handed the host a (pointer, length) pair
	// outside its memory; the instance is discarded.
	ErrOutOfBounds = errors.New("host: guest memory access out of bounds")
	// ErrFailed is returned when the guest reported an error of its own (StatusError, or
	// a status without a sentinel of its own).
	ErrFailed = errors.New("host: plugin failed")
	// ErrFuelExhausted is returned when a metered guest used up its call's fuel budget
	// (PluginConfig.Fuel); the instance is discarded.
	ErrFuelExhausted = errors.New("host: fuel exhausted")
	// ErrUnavailable is returned when a service the plugin depends on is temporarily
	// unavailable (abi.StatusUnavailable): a failing dependency, an open circuit breaker.
	// Retryable.
	ErrUnavailable = errors.New("host: service unavailable")
	// ErrNotFound is returned when the guest reports that a resource does not exist
	// (abi.StatusNotFound).
	ErrNotFound = errors.New("host: not found")
	// ErrClosed is returned for calls on a closed Plugin or Host.
	ErrClosed = errors.New("host: closed")
	// ErrQuarantined is returned at once, without running the guest, by every call of a
	// quarantined plugin: one of its calls was still running Config.StuckGrace after its
	// deadline (see StuckCall and Plugin.Quarantined). Not retryable on this host; restart
	// the process, or load the plugin again.
	ErrQuarantined = errors.New("host: plugin quarantined")
	// ErrTransactionOpen is returned by RetryRollback for a journal record that is pending
	// or active: either its effect is still running in this process, which ends it itself,
	// or a crash left it and Recover rolls it back. Only a failed rollback is retried.
	ErrTransactionOpen = errors.New("host: transaction still open")
	// ErrNoJournal is returned by the journal methods (JournalRecords, JournalRecord,
	// RetryRollback, CompactJournal) of a Host without a journal: Config.DataDir is "".
	ErrNoJournal = errors.New("host: no journal: Config.DataDir is empty")
)

// PluginError is the error of every failed load or call. It names the plugin and the
// operation, carries the ABI status and the guest's structured error when there is one,
// and matches one sentinel with errors.Is (Kind). Cause, when set, is the underlying error
// (a wazero error, a context error) and is reachable through errors.Is/As too.
type PluginError struct {
	Plugin    string     // plugin name (the manifest's, or the file's before it is known)
	Op        string     // "load", or the computation that was running
	Kind      error      // the sentinel this error matches
	Status    abi.Status // the guest's status when it returned one, else 0
	Code      string     // the guest's error code, or the status name
	Message   string     // human-readable detail
	Retryable bool       // whether trying again unchanged may succeed
	Cause     error      // underlying error, or nil
}

// Error returns "host: plugin <name>: <op>: <kind>: <message>".
func (e *PluginError) Error() string {
	var b strings.Builder
	b.WriteString("host: plugin ")
	b.WriteString(e.Plugin)
	if e.Op != "" {
		b.WriteString(": ")
		b.WriteString(e.Op)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Kind.Error(), "host: "))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is reports whether target is e's Kind.
func (e *PluginError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the cause, so errors.Is(err, context.DeadlineExceeded) and errors.As
// into a wazero error keep working.
func (e *PluginError) Unwrap() error { return e.Cause }
