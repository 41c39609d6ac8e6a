package reducer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
)

// FoldOf returns the fold that runs the reducer plugin p: each call marshals its
// abi.ReduceInput, calls p with the input's reduction through onex_reduce
// (host.Plugin.Call) and decodes the guest's output with abi.DecodeReduceOutput. The
// result is assignable to Fold, and safe for concurrent use as p is (calls queue for
// p's instances and block until one serves them or ctx ends).
//
// An empty in.Reduction names p's only reduction when it has exactly one. A nil in.State
// is sent as null (a new key).
//
// FoldOf fails, wrapping host.ErrUnsupported, when p is not a reducer node. The fold's
// errors are the *host.PluginError of the call (the guest's status and code included:
// host.ErrFailed for an error the reduction returned, host.ErrUnknownComputation for a
// reduction p lacks, host.ErrTimeout, ...), or, for output that is not a valid reduce
// output, an error wrapping both host.ErrInvalidOutput and abi.ErrInvalidEnvelope. Only a
// nil error means the output may be applied.
func FoldOf(p *host.Plugin) (Fold, error) {
	m := p.Manifest()
	if m.Kind != abi.KindReducer {
		return nil, fmt.Errorf("reducer: plugin %q is a %s node, not a reducer: %w", p.Name(), m.Kind, host.ErrUnsupported)
	}
	only := ""
	if len(m.Computations) == 1 {
		only = m.Computations[0].Name
	}
	name := p.Name()
	return func(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
		if in.Reduction == "" {
			in.Reduction = only
		}
		b, err := json.Marshal(in)
		if err != nil {
			return abi.ReduceOutput{}, fmt.Errorf("reducer: %s: %s: encode input: %w", name, in.Reduction, err)
		}
		out, err := p.Call(ctx, in.Reduction, b)
		if err != nil {
			return abi.ReduceOutput{}, err
		}
		o, err := abi.DecodeReduceOutput(out)
		if err != nil {
			return abi.ReduceOutput{}, fmt.Errorf("reducer: %s: %s: %w: %w", name, in.Reduction, host.ErrInvalidOutput, err)
		}
		return o, nil
	}, nil
}
