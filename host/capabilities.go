package host

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/onexhost/onex-host/abi"
	fscap "github.com/onexhost/onex-host/host/internal/capability/fs"
	"github.com/onexhost/onex-host/host/internal/capability/httpcap"
	"github.com/onexhost/onex-host/host/internal/capcall"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// openCapabilities opens what the manifest asks for, once the grants were checked.
func (p *Plugin) openCapabilities() error {
	fail := func(err error) error {
		p.closeCapabilities()
		return &PluginError{Plugin: p.name, Op: "load", Kind: ErrCapabilityDenied, Message: err.Error(), Cause: err}
	}
	h := p.host
	p.caps = capcall.Plugin{Name: p.name, Digest: p.digest, Capabilities: p.manifest.Capabilities,
		Publishes: p.manifest.Publishes, Compensates: slices.Contains(p.exports, abi.ExportCompensate),
		Breakers: h.breakers, Publish: func(ctx context.Context, e abi.Event) error { return busOf(h.container).Publish(ctx, e) }}
	for _, c := range p.manifest.Capabilities {
		switch c {
		case abi.CapabilityFS:
			grants := make([]fscap.Grant, len(p.grants.Paths))
			for i, g := range p.grants.Paths {
				grants[i] = fscap.Grant{Dir: g.Dir, ReadOnly: g.ReadOnly}
			}
			roots, err := fscap.New(fscap.Config{Grants: grants})
			if err != nil {
				return fail(fmt.Errorf("fs grants: %w", err))
			}
			p.caps.FS = roots
		case abi.CapabilityKV:
			db, err := p.host.kvDB()
			if err == nil {
				p.caps.KV, err = db.Namespace(p.name)
			}
			if err != nil {
				return fail(err)
			}
		case abi.CapabilityHTTP:
			client, err := httpcap.New(p.grants.Hosts, httpcap.Config{})
			if err != nil {
				return fail(fmt.Errorf("http grants: %w", err))
			}
			p.caps.HTTP = client
		}
	}
	return nil
}

// closeCapabilities releases what openCapabilities opened.
func (p *Plugin) closeCapabilities() {
	if err := p.caps.Close(); err != nil {
		p.logger.Warn("closing capabilities", "error", err)
	}
}

// capabilityCompensators undo the capabilities' recorded operations. They work from the
// recorded operation alone — the fs directory and the kv namespace are in it — so a
// rollback needs neither the plugin nor its instance.
func (h *Host) capabilityCompensators() map[string]tx.Compensator {
	m := fscap.Compensators()
	kvc := tx.CompensatorFunc(h.compensateKV)
	m[tx.KindKVPut] = kvc
	m[tx.KindKVDelete] = kvc
	m[tx.KindHTTPRequest] = tx.CompensatorFunc(h.compensateHTTP)
	return m
}

// compensateHTTP sends a recorded request's compensating request, through the client of a
// loaded plugin granted its host (the grants apply to compensations too).
func (h *Host) compensateHTTP(ctx context.Context, op tx.Operation) error {
	if op.Compensation == nil || op.Compensation.Request == nil {
		return fmt.Errorf("http.request %s: no compensating request", op.Target)
	}
	u, err := url.Parse(op.Compensation.Request.URL)
	if err != nil {
		return fmt.Errorf("compensating request: %w", err)
	}
	p := h.pluginFor(func(q *Plugin) bool { return q.caps.HTTP != nil && q.caps.HTTP.Granted(u) })
	if p != nil {
		defer p.exit()
		return httpcap.NewCompensator(p.caps.HTTP).Compensate(ctx, op)
	}
	return fmt.Errorf("compensating request to %s: no loaded plugin is granted that host", u.Hostname())
}
