package host

import (
	"errors"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	fscap "github.com/onexhost/onex-host/host/internal/capability/fs"
	"github.com/onexhost/onex-host/host/internal/capability/httpcap"
	"github.com/onexhost/onex-host/host/internal/capability/kv"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// capabilities are an effect plugin's granted capabilities: what its capability calls
// reach. Each is nil unless the manifest asks for it and the operator granted it. They
// are safe for concurrent use.
type capabilities struct {
	fs   *fscap.Roots
	kv   kv.Store // the node's own namespace of the host's store
	http *httpcap.Client
}

// openCapabilities opens what the manifest asks for, once the grants were checked.
func (p *Plugin) openCapabilities() error {
	fail := func(err error) error {
		p.closeCapabilities()
		return &PluginError{Plugin: p.name, Op: "load", Kind: ErrCapabilityDenied, Message: err.Error(), Cause: err}
	}
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
			p.caps.fs = roots
		case abi.CapabilityKV:
			db, err := p.host.kvDB()
			if err == nil {
				p.caps.kv, err = db.Namespace(p.name)
			}
			if err != nil {
				return fail(err)
			}
		case abi.CapabilityHTTP:
			client, err := httpcap.New(p.grants.Hosts, httpcap.Config{})
			if err != nil {
				return fail(fmt.Errorf("http grants: %w", err))
			}
			p.caps.http = client
		}
	}
	return nil
}

// closeCapabilities releases what openCapabilities opened.
func (p *Plugin) closeCapabilities() {
	var errs []error
	if p.caps.fs != nil {
		errs = append(errs, p.caps.fs.Close())
	}
	if p.caps.kv != nil {
		errs = append(errs, p.caps.kv.Close())
	}
	if p.caps.http != nil {
		p.caps.http.CloseIdleConnections()
	}
	if err := errors.Join(errs...); err != nil {
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
