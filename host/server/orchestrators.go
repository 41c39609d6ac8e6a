package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/orchestrator"
)

// PlannerOf builds the planner of one workflow of an orchestrator plugin (the plugin's
// onex_orchestrate export): orchestrator.PlannerOf.
type PlannerOf func(p *host.Plugin, workflow string) orchestrator.Planner

// OrchestratorDefinitions returns one workflow definition per workflow (manifest
// computation) of each orchestrator node loaded now, in node name order, with the
// engine's default timeouts and parallelism. Each decision runs on the version of the
// node serving at the time (a reload swaps the planner under running workflows; a
// planner is pure, so a decision cut short by the swap is made again on the new
// version). A node unloaded since fails the decision with host.ErrUnavailable.
func (s *Server) OrchestratorDefinitions(plannerOf PlannerOf) []orchestrator.Definition {
	var defs []orchestrator.Definition
	for _, name := range s.Names() {
		n := s.acquire(name)
		if n == nil {
			continue
		}
		if n.kind() == abi.KindOrchestrator {
			for _, c := range n.computations() {
				defs = append(defs, orchestrator.Definition{Name: c.Name, Plan: s.currentPlanner(name, c.Name, plannerOf)})
			}
		}
		n.release()
	}
	return defs
}

// currentPlanner is the planner of workflow through the version of orchestrator node
// name serving at each call.
func (s *Server) currentPlanner(name, workflow string, plannerOf PlannerOf) orchestrator.Planner {
	return func(ctx context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		for attempt := 0; ; attempt++ {
			n := s.acquire(name)
			if n == nil || n.kind() != abi.KindOrchestrator {
				if n != nil {
					n.release()
				}
				return abi.OrchestrateOutput{}, fmt.Errorf("server: orchestrator %s is not loaded: %w", name, host.ErrUnavailable)
			}
			out, err := plannerOf(n.plugin, workflow)(ctx, in)
			n.release()
			if errors.Is(err, host.ErrClosed) && attempt == 0 {
				continue
			}
			return out, err
		}
	}
}
