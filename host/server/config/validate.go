package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"regexp"
	"strconv"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/artifact"
	"github.com/onexhost/onex-host/host/internal/capability/httpcap"
)

// FieldError is an invalid field of a configuration file: Parse, Load, Validate and the
// conversion methods return one (wrapped; use errors.As) for the first problem they find.
// Messages quote the values at fault, except token values, which no error contains.
type FieldError struct {
	// Field is the field's path in the file: "listen", "auth.tokens[1].role",
	// "nodes[2].grants.paths[0]".
	Field string
	// Message says what is wrong with it.
	Message string
}

// Error returns "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// fieldErr returns a *FieldError with a formatted message.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Limits on sizes, as in host.Config.
const (
	maxMemoryLimit  = 1 << 32
	maxRequestBytes = 1 << 30
	maxProbes       = 1 << 16 // host.BreakerPolicy's bound on its counts
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks every field and the files and directories the File names: node files
// and directories (each directory must hold a *.wasm file, and no plugin may be listed
// twice), path grants, Extism sidecars. It does not read tokens (see Tokens). The error
// is the first problem found: a *FieldError, wrapped. Parse and Load call it; call it
// after changing a File.
func (f *File) Validate() error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// validate is Validate without the "config: " prefix.
func (f *File) validate() error {
	for _, check := range []func() error{f.checkServer, f.checkAuth, f.checkHost, f.checkNATS, f.checkTrustedKeys} {
		if err := check(); err != nil {
			return err
		}
	}
	_, err := f.nodes()
	return err
}

// checkServer checks the listeners, logging and limits.
func (f *File) checkServer() error {
	loopback, err := checkAddr("listen", f.Listen)
	if err != nil {
		return err
	}
	if !loopback && len(f.Auth.Tokens) == 0 {
		return fieldErr("listen", "auth is disabled, so the listen address must be loopback, not %q (add auth.tokens, or listen on 127.0.0.1)", f.Listen)
	}
	if f.AdminListen != "" {
		loopback, err := checkAddr("admin_listen", f.AdminListen)
		switch {
		case err != nil:
			return err
		case !loopback:
			return fieldErr("admin_listen", "%q: the admin listener (pprof) must be on a loopback address", f.AdminListen)
		case f.AdminListen == f.Listen:
			return fieldErr("admin_listen", "%q is also the listen address", f.AdminListen)
		}
	}
	switch f.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fieldErr("log.level", "%q is not debug, info, warn or error", f.Log.Level)
	}
	if f.Log.Format != "text" && f.Log.Format != "json" {
		return fieldErr("log.format", "%q is not text or json", f.Log.Format)
	}
	if err := f.Tracing.Validate(); err != nil {
		return fieldErr("tracing", "%v", err)
	}
	if f.Limits.MaxRequestBytes > maxRequestBytes {
		return fieldErr("limits.max_request_bytes", "%s exceeds 1GiB", f.Limits.MaxRequestBytes)
	}
	for _, d := range []struct {
		field string
		d     Duration
	}{
		{"limits.read_timeout", f.Limits.ReadTimeout}, {"limits.write_timeout", f.Limits.WriteTimeout},
		{"limits.shutdown_timeout", f.Limits.ShutdownTimeout},
	} {
		if d.d < 0 {
			return fieldErr(d.field, "%s is negative", d.d)
		}
	}
	return nil
}

// checkAddr checks a host:port listen address and reports whether it is loopback.
func checkAddr(field, addr string) (loopback bool, err error) {
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fieldErr(field, "%q: want host:port, such as %s", addr, DefaultListen)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return false, fieldErr(field, "%q: port %q is not a number from 0 to 65535", addr, port)
	}
	ip := net.ParseIP(h)
	return h == "localhost" || ip != nil && ip.IsLoopback(), nil
}

// checkAuth checks the token sources, without reading them.
func (f *File) checkAuth() error {
	names := make(map[string]int, len(f.Auth.Tokens))
	for i, t := range f.Auth.Tokens {
		field := fmt.Sprintf("auth.tokens[%d]", i)
		if t.Name == "" {
			return fieldErr(field+".name", "missing")
		}
		if !abi.ValidName(t.Name) {
			return fieldErr(field+".name", "%q is not a valid name (lowercase letters, digits, '.', '_', '-'; at most 64)", t.Name)
		}
		if j, dup := names[t.Name]; dup {
			return fieldErr(field+".name", "%q is also the name of auth.tokens[%d]", t.Name, j)
		}
		names[t.Name] = i
		if t.Role != RoleInvoke && t.Role != RoleAdmin {
			return fieldErr(field+".role", "%q is not invoke or admin", t.Role)
		}
		switch {
		case t.Env == "" && t.File == "":
			return fieldErr(field, "set env or file: where the token's value comes from (values are never written in the configuration)")
		case t.Env != "" && t.File != "":
			return fieldErr(field, "set only one of env and file")
		case t.Env != "" && !envName.MatchString(t.Env):
			return fieldErr(field+".env", "%q is not an environment variable name", t.Env)
		}
	}
	return nil
}

// checkHost checks the host-wide settings.
func (f *File) checkHost() error {
	h := f.Host
	switch {
	case h.MemoryLimit > maxMemoryLimit:
		return fieldErr("host.memory_limit", "%s exceeds 4GiB", h.MemoryLimit)
	case h.MaxInputBytes > 1<<30:
		return fieldErr("host.max_input_bytes", "%s exceeds 1GiB", h.MaxInputBytes)
	case h.MaxInstances < 0:
		return fieldErr("host.max_instances", "%d is negative", h.MaxInstances)
	case h.Cache.Entries < 0:
		return fieldErr("host.cache.entries", "%d is negative", h.Cache.Entries)
	case h.Cache.Bytes > math.MaxInt64:
		return fieldErr("host.cache.bytes", "%s is too large", h.Cache.Bytes)
	case h.Cache.TTL < 0:
		return fieldErr("host.cache.ttl", "%s is negative", h.Cache.TTL)
	}
	return h.Breakers.check("host.breakers")
}

// check checks the breaker settings, then the policy they make.
func (b BreakerSettings) check(field string) error {
	switch b.Preset {
	case "", presetDefault, presetFastFail, presetResilient:
	default:
		return fieldErr(field+".preset", "%q is not default, fast-fail or resilient", b.Preset)
	}
	for _, v := range []struct {
		name   string
		n, max int
	}{
		{"min_requests", b.MinRequests, math.MaxInt}, {"failure_threshold", b.FailureThreshold, math.MaxInt},
		{"half_open_max_requests", b.HalfOpenMaxRequests, maxProbes}, {"success_threshold", b.SuccessThreshold, maxProbes},
	} {
		switch {
		case v.n < 0:
			return fieldErr(field+"."+v.name, "%d is negative", v.n)
		case v.n > v.max:
			return fieldErr(field+"."+v.name, "%d exceeds %d", v.n, v.max)
		}
	}
	switch {
	case !(b.FailureRateThreshold >= 0 && b.FailureRateThreshold <= 1): // also NaN
		return fieldErr(field+".failure_rate_threshold", "%v is not between 0 and 1", b.FailureRateThreshold)
	case b.Window < 0:
		return fieldErr(field+".window", "%s is negative", b.Window)
	case b.OpenTimeout < 0:
		return fieldErr(field+".open_timeout", "%s is negative", b.OpenTimeout)
	}
	if err := b.policy().Validate(); err != nil {
		return fieldErr(field, "%v", err)
	}
	return nil
}

// checkEntry checks one node entry's settings (not what nodes checks while expanding
// it).
func (f *File) checkEntry(i int, e NodeEntry) error {
	field := fmt.Sprintf("nodes[%d]", i)
	if x := host.Execution(e.Execution); x != "" && x != host.ExecutionMetered && x != host.ExecutionGuarded {
		return fieldErr(field+".execution", "%q is not metered or guarded", e.Execution)
	}
	if x := host.Isolation(e.Isolation); x != "" && x != host.IsolationPooled && x != host.IsolationFresh {
		return fieldErr(field+".isolation", "%q is not pooled or fresh", e.Isolation)
	}
	if x := host.Snapshot(e.Snapshot); x != host.SnapshotAuto && x != host.SnapshotOn && x != host.SnapshotOff {
		return fieldErr(field+".snapshot", "%q is not on or off", e.Snapshot)
	}
	set := 0
	for _, v := range []string{e.Path, e.Dir, e.FSM, e.Workflow} {
		if v != "" {
			set++
		}
	}
	switch {
	case set == 0:
		return fieldErr(field, "set path (a plugin file), dir (a directory of *.wasm files), fsm (an FSM contract) or workflow (a workflow contract)")
	case e.Workflow != "" && set > 1:
		return fieldErr(field+".workflow", "a workflow entry has no plugin: set only one of path, dir, fsm and workflow")
	case e.Workflow != "" && e.Name != "":
		return fieldErr(field+".name", "a workflow is served under its contract's name")
	case e.Workflow != "" && e.Extism.Node != "":
		return fieldErr(field+".extism.node", "a workflow entry has no plugin")
	case e.FSM != "" && set > 1:
		return fieldErr(field+".fsm", "an fsm entry has no plugin: set only one of path, dir and fsm")
	case e.Path != "" && e.Dir != "":
		return fieldErr(field, "set only one of path and dir")
	case e.FSM != "" && e.Extism.Node != "":
		return fieldErr(field+".extism.node", "an fsm entry has no plugin")
	case e.Dir != "" && e.Name != "":
		return fieldErr(field+".name", "a dir entry may hold several nodes; set name on path entries only")
	case e.Dir != "" && e.Extism.Node != "":
		return fieldErr(field+".extism.node", "a dir entry may hold several nodes; set node on path entries only (or put <name>.onex.yaml next to each module)")
	case e.Name != "" && !abi.ValidName(e.Name):
		return fieldErr(field+".name", "%q is not a valid node name (lowercase letters, digits, '.', '_', '-'; at most 64)", e.Name)
	case e.MemoryLimit > maxMemoryLimit:
		return fieldErr(field+".memory_limit", "%s exceeds 4GiB", e.MemoryLimit)
	case e.MaxInstances < 0:
		return fieldErr(field+".max_instances", "%d is negative", e.MaxInstances)
	case e.Concurrency < 0:
		return fieldErr(field+".concurrency", "%d is negative", e.Concurrency)
	case e.Retry.BaseDelay < 0:
		return fieldErr(field+".retry.base_delay", "%s is negative", e.Retry.BaseDelay)
	case e.Retry.MaxDelay < 0:
		return fieldErr(field+".retry.max_delay", "%s is negative", e.Retry.MaxDelay)
	case !(e.Retry.Jitter <= 1): // also NaN
		return fieldErr(field+".retry.jitter", "%v exceeds 1", e.Retry.Jitter)
	}
	if err := f.checkSource(field, e); err != nil {
		return err
	}
	if e.Path != "" && !artifact.IsRef(e.Path) {
		if err := f.checkStat(field+".path", e.Path, false); err != nil {
			return err
		}
	}
	if e.Dir != "" {
		if err := f.checkStat(field+".dir", e.Dir, true); err != nil {
			return err
		}
	}
	if e.FSM != "" {
		if err := f.checkStat(field+".fsm", e.FSM, false); err != nil {
			return err
		}
	}
	if e.Workflow != "" {
		if err := f.checkStat(field+".workflow", e.Workflow, false); err != nil {
			return err
		}
	}
	for j, p := range e.Grants.Paths {
		g, err := host.ParsePathGrant(p)
		if err != nil {
			return fieldErr(fmt.Sprintf("%s.grants.paths[%d]", field, j), "%q: want DIR or HOST:GUEST, each optionally :ro", p)
		}
		if err := f.checkStat(fmt.Sprintf("%s.grants.paths[%d]", field, j), g.Dir, true); err != nil {
			return err
		}
	}
	for j, h := range e.Grants.Hosts {
		if err := checkHostPattern(h); err != nil {
			return fieldErr(fmt.Sprintf("%s.grants.hosts[%d]", field, j), "%q: %v", h, err)
		}
	}
	for k := range e.Config {
		if k == "" {
			return fieldErr(field+".config", "a key is empty")
		}
	}
	for k := range e.Extism.Config {
		if k == "" {
			return fieldErr(field+".extism.config", "a key is empty")
		}
	}
	if e.Extism.Node != "" {
		if err := f.checkStat(field+".extism.node", e.Extism.Node, false); err != nil {
			return err
		}
	}
	return nil
}

// checkStat checks that the path written as p is an existing directory (dir) or file.
func (f *File) checkStat(field, p string, dir bool) error {
	shown := strconv.Quote(p)
	if r := f.path(p); r != p {
		shown += " (" + r + ")"
	}
	fi, err := os.Stat(f.path(p))
	switch {
	case errors.Is(err, fs.ErrNotExist) && dir:
		return fieldErr(field, "%s: no such directory", shown)
	case errors.Is(err, fs.ErrNotExist):
		return fieldErr(field, "%s: no such file", shown)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fieldErr(field, "%s: %v", shown, err)
	case dir && !fi.IsDir():
		return fieldErr(field, "%s: not a directory", shown)
	case !dir && fi.IsDir():
		return fieldErr(field, "%s: a directory, not a file", shown)
	}
	return nil
}

// checkHostPattern accepts a glob over a host name, as host.Grants does at load.
func checkHostPattern(p string) error {
	_, _, err := httpcap.ParsePattern(p)
	return err
}
