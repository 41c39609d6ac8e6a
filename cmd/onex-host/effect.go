package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/events"
)

// buildEffectInput assembles the EffectInput from run's flags, as buildInput does; every
// error is misuse.
func buildEffectInput(e *env, cmd *cobra.Command, hf *hostFlags, effect, data, inputPath string) (abi.EffectInput, error) {
	limit, err := hf.inputLimit()
	if err != nil {
		return abi.EffectInput{}, err
	}
	if inputPath == "" {
		b, what, err := runData(e, cmd, data, limit)
		if err != nil {
			return abi.EffectInput{}, err
		}
		if err := abi.CheckData(b); err != nil {
			return abi.EffectInput{}, fmt.Errorf("%s: %w", what, err)
		}
		return abi.EffectInput{EffectType: effect, OperationData: json.RawMessage(b)}, nil
	}
	b, err := readEnvelope(e, inputPath, limit)
	if err != nil {
		return abi.EffectInput{}, err
	}
	in, err := abi.DecodeEffectInput(b)
	if err != nil {
		return abi.EffectInput{}, fmt.Errorf("--input %s: %w", inputPath, err)
	}
	if cmd.Flags().Changed("type") {
		in.EffectType = effect
	}
	return in, nil
}

// runEffect runs one effect and prints its EffectOutput, also when it failed (the output
// then says what the rollback did). With showEvents, every event the effect publishes is
// printed to stderr as it is delivered.
func runEffect(ctx context.Context, e *env, h *host.Host, p *host.Plugin, in abi.EffectInput, showEvents bool) error {
	node, err := effect.New(p, effect.Config{})
	if err != nil {
		return failure{err}
	}
	// Roll back what a crashed earlier run left half done, before this effect runs.
	if _, err := h.Recover(ctx); err != nil {
		return failure{err}
	}
	if showEvents {
		sub, err := h.Events().Subscribe("onex.evt.>", func(_ context.Context, ev abi.Event) error {
			b, err := json.Marshal(ev)
			if err == nil {
				_, err = fmt.Fprintf(e.stderr, "event: %s\n", b)
			}
			return err
		}, events.SubscribeOptions{Policy: events.Block})
		if err != nil {
			return err
		}
		defer sub.Close()
	}
	out, err := node.Process(ctx, in)
	if perr := printJSON(e, out); perr != nil {
		return perr
	}
	if err != nil {
		return failure{err}
	}
	return nil
}
