package breaker

import (
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Config sets up a Registry. The zero Config is valid: every breaker gets
// DefaultPolicy() and nothing is logged. NewRegistry copies what it needs, so
// a Config may be reused and changed afterwards.
type Config struct {
	// Policy is the policy of every breaker without an override. Its zero
	// fields mean their defaults.
	Policy Policy
	// Overrides maps a service name, or a prefix followed by "*" (such as
	// "http:*"), to the policy of the matching breakers. An exact name wins
	// over a prefix and a longer prefix over a shorter one; a "*" elsewhere
	// in a key is an ordinary character. An override replaces the whole
	// policy: its zero fields mean the package defaults, not Policy's. The
	// map is copied by NewRegistry.
	Overrides map[string]Policy
	// Logger receives one record per state change: Warn for a change to
	// open, Info otherwise. Nil discards them.
	Logger *slog.Logger
}

// prefixPolicy is one "prefix*" override.
type prefixPolicy struct {
	prefix string
	policy Policy
}

// Registry holds one Breaker per service, created on first use. Create one
// with NewRegistry; the zero value is not usable. It is safe for concurrent
// use by multiple goroutines. It starts no goroutines and needs no closing. Breakers are never removed: the set of services a host
// talks to is expected to be small.
type Registry struct {
	policy   Policy
	exact    map[string]Policy
	prefixes []prefixPolicy // longest prefix first
	notify   notifier
	breakers sync.Map // service name -> *Breaker
}

// NewRegistry validates cfg and returns an empty registry. It returns the
// *PolicyError values (joined) of every invalid field of Config.Policy and
// of each override; they match ErrInvalidPolicy.
func NewRegistry(cfg Config) (*Registry, error) {
	errs := []error{cfg.Policy.validate("")}
	r := &Registry{policy: cfg.Policy.withDefaults(), exact: map[string]Policy{}}
	for _, key := range slices.Sorted(maps.Keys(cfg.Overrides)) {
		p := cfg.Overrides[key]
		errs = append(errs, p.validate(key))
		if prefix, ok := strings.CutSuffix(key, "*"); ok {
			r.prefixes = append(r.prefixes, prefixPolicy{prefix: prefix, policy: p.withDefaults()})
		} else {
			r.exact[key] = p.withDefaults()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortStableFunc(r.prefixes, func(a, b prefixPolicy) int { return len(b.prefix) - len(a.prefix) })
	r.notify.logger = cfg.Logger
	if r.notify.logger == nil {
		r.notify.logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Get returns the breaker of service, creating it closed on first use with
// the policy that Config chose for the name. It does not block beyond a map
// lookup.
func (r *Registry) Get(service string) *Breaker {
	if b, ok := r.breakers.Load(service); ok {
		return b.(*Breaker)
	}
	// A breaker that loses the race is dropped; creating one has no side
	// effects.
	b, _ := r.breakers.LoadOrStore(service, newBreaker(service, r.policyFor(service), &r.notify))
	return b.(*Breaker)
}

// policyFor returns the policy Config chose for service.
func (r *Registry) policyFor(service string) Policy {
	if p, ok := r.exact[service]; ok {
		return p
	}
	for _, pp := range r.prefixes {
		if strings.HasPrefix(service, pp.prefix) {
			return pp.policy
		}
	}
	return r.policy
}

// OnStateChange adds fn to the functions called on every state change of
// every breaker, including changes caused by ForceOpen, ForceClose and
// Reset. Callbacks run after the breaker's lock is released, one at a time
// across the registry, in the order the changes happened and in the order
// they were added; a change may be delivered on the goroutine of a later
// call rather than the one that caused it. A callback may call into the
// breaker and the registry. A callback added while changes are being
// delivered sees those after the one in progress. fn must not be nil.
func (r *Registry) OnStateChange(fn func(service string, from, to State)) {
	if fn == nil {
		panic("breaker: OnStateChange with a nil function")
	}
	r.notify.subscribe(fn)
}

// ForceOpen calls ForceOpen on the breaker of service, creating it if
// needed, so that a service can be held off before its first call.
func (r *Registry) ForceOpen(service string) {
	r.Get(service).ForceOpen()
}

// ForceClose calls ForceClose on the breaker of service, creating it if
// needed.
func (r *Registry) ForceClose(service string) {
	r.Get(service).ForceClose()
}

// Reset calls Reset on the breaker of service, creating it if needed.
func (r *Registry) Reset(service string) {
	r.Get(service).Reset()
}

// Snapshot returns the Stats of every breaker, sorted by service name. Each
// breaker's Stats is consistent in itself; breakers are read one after the
// other, not all at one instant.
func (r *Registry) Snapshot() []Stats {
	var all []Stats
	r.breakers.Range(func(_, b any) bool {
		all = append(all, b.(*Breaker).Stats())
		return true
	})
	slices.SortFunc(all, func(a, b Stats) int { return strings.Compare(a.Service, b.Service) })
	return all
}

// States returns the state of every breaker, keyed by service name. It
// takes no breaker's lock.
func (r *Registry) States() map[string]State {
	states := map[string]State{}
	r.breakers.Range(func(s, b any) bool {
		states[s.(string)] = b.(*Breaker).State()
		return true
	})
	return states
}
