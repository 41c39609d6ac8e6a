package server

import (
	"context"
	"fmt"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/signature"
)

// loadPlugin loads spec's plugin: from spec.Path, or from what spec.Resolve returns,
// refusing a plugin whose digest is not the one Resolve checked.
func (s *Server) loadPlugin(ctx context.Context, spec NodeSpec) (*host.Plugin, error) {
	if spec.Resolve == nil {
		return s.host.LoadFile(ctx, spec.Path, spec.Plugin)
	}
	path, digest, err := spec.Resolve(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.host.LoadFile(ctx, path, spec.Plugin)
	if err != nil {
		return nil, err
	}
	if digest != "" && p.Digest() != digest {
		_ = p.Close(ctx)
		return nil, &signature.Error{Kind: signature.ErrDigestMismatch,
			Detail: fmt.Sprintf("%s changed after its check: loaded %s, checked %s", path, p.Digest(), digest)}
	}
	return p, nil
}
