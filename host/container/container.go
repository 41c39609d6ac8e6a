package container

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Errors.
var (
	// ErrFrozen is returned by Builder.Register after Build.
	ErrFrozen = errors.New("container: frozen: services are registered before Build")
	// ErrDuplicate is returned by Builder.Register for a name already registered.
	ErrDuplicate = errors.New("container: service already registered")
	// ErrInvalid is returned by Builder.Register for an empty name or a nil service.
	ErrInvalid = errors.New("container: invalid registration")
	// ErrNotFound is returned by Get for a name nothing was registered under.
	ErrNotFound = errors.New("container: service not found")
	// ErrWrongType is returned by Get when the service is not of the requested type.
	ErrWrongType = errors.New("container: service has another type")
)

// Builder collects services during start-up. It is not safe for concurrent use: build
// the container in one goroutine, then share the Container. After Build, Register only
// reports ErrFrozen, which is safe from any goroutine.
type Builder struct {
	services map[string]any
	built    bool
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{services: map[string]any{}} }

// Register adds svc under name. It fails with ErrInvalid for an empty name or a nil
// service, ErrDuplicate for a name already taken, and ErrFrozen after Build.
func (b *Builder) Register(name string, svc any) error {
	switch {
	case b.built:
		return fmt.Errorf("%w (%q)", ErrFrozen, name)
	case name == "" || svc == nil:
		return fmt.Errorf("%w: name %q, service %v", ErrInvalid, name, svc)
	}
	if _, ok := b.services[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	b.services[name] = svc
	return nil
}

// Build freezes the registrations into a Container. Later calls to Register fail; Build
// may be called again and returns an equal Container.
func (b *Builder) Build() *Container {
	b.built = true
	return &Container{services: maps.Clone(b.services)}
}

// Container is a frozen set of named services. It is immutable, so it is safe for
// concurrent use by multiple goroutines and lookups take no lock. The services themselves
// say whether they are safe for concurrent use.
type Container struct {
	services map[string]any
}

// Lookup returns the service registered under name.
func (c *Container) Lookup(name string) (any, bool) {
	svc, ok := c.services[name]
	return svc, ok
}

// Names returns the registered names, sorted.
func (c *Container) Names() []string { return slices.Sorted(maps.Keys(c.services)) }

// Get returns the service registered under name as a T: ErrNotFound when there is none,
// ErrWrongType when it is not a T.
func Get[T any](c *Container, name string) (T, error) {
	var zero T
	svc, ok := c.services[name]
	if !ok {
		return zero, fmt.Errorf("%w: %q (registered: %v)", ErrNotFound, name, c.Names())
	}
	t, ok := svc.(T)
	if !ok {
		return zero, fmt.Errorf("%w: %q is %T, not %T", ErrWrongType, name, svc, zero)
	}
	return t, nil
}
