package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/orchestrator"
	"github.com/onexhost/onex-host/host/orchestrator/workflow"
	"github.com/onexhost/onex-host/host/server"
)

// workflowsFile is the workflow engine's file in the data directory, beside reducers.db.
const workflowsFile = "workflows.db"

// workflowEngine is what serve and workflow run use of the engine
// (*orchestrator.Engine): the server's doors and Close.
type workflowEngine interface {
	server.Workflows
	Close() error
}

// orchestration is the workflow machinery serve and workflow run are built with: the
// engine, the YAML contracts and the orchestrator plugins' planners. A nil field means
// this build lacks that piece: a config that needs it is refused.
type orchestration struct {
	// open opens the engine's file at path (orchestrator.Open).
	open func(path string, defs []orchestrator.Definition, runner orchestrator.Runner, logger *slog.Logger) (workflowEngine, error)
	// load reads a workflow contract (workflow.Load): its definition and the nodes its
	// steps and compensations name.
	load func(path string) (def orchestrator.Definition, nodes []string, err error)
	// plannerOf is orchestrator.PlannerOf.
	plannerOf server.PlannerOf
}

// builtin is this build's orchestration: the engine (package host/orchestrator), the
// contracts (host/orchestrator/workflow) and the plugins' planners. With a nil piece,
// what needs it is refused with errNoEngine (tests build such variants).
var builtin = orchestration{
	open: func(path string, defs []orchestrator.Definition, runner orchestrator.Runner, logger *slog.Logger) (workflowEngine, error) {
		e, err := orchestrator.Open(path, orchestrator.Config{Definitions: defs, Runner: runner, Log: logger})
		if err != nil {
			return nil, err // not a nil *Engine in a non-nil interface
		}
		return e, nil
	},
	load: func(path string) (orchestrator.Definition, []string, error) {
		c, err := workflow.Load(path)
		if err != nil {
			return orchestrator.Definition{}, nil, err
		}
		return c.Definition(), c.Nodes(), nil
	},
	plannerOf: orchestrator.PlannerOf,
}

// errNoEngine is the error of a config or command that needs a piece builtin lacks.
var errNoEngine = errors.New("this build of onex-host has no workflow engine")

// definitions loads the contracts of files; with check (serve without a cluster), each
// contract's nodes must be among nodes. Errors are misuse (exit 2).
func (o orchestration) definitions(files, nodes []string, check bool) ([]orchestrator.Definition, error) {
	var defs []orchestrator.Definition
	for _, path := range files {
		if o.load == nil {
			return nil, fmt.Errorf("workflow %s: %w", path, errNoEngine)
		}
		def, needs, err := o.load(path)
		if err != nil {
			return nil, err // workflow.Load's errors name the file
		}
		for _, n := range needs {
			if check && !slices.Contains(nodes, n) {
				return nil, fmt.Errorf("workflow %s (%s): no node named %q is loaded", path, def.Name, n)
			}
		}
		defs = append(defs, def)
	}
	return defs, nil
}

// serveWorkflows is serve's workflow engine, attached to the server.
type serveWorkflows struct {
	engine workflowEngine
	tmp    string // a temporary directory to remove (no data directory)
	stop   context.CancelFunc
	done   chan struct{}
}

// openWorkflows opens the engine over the definitions of files and of srv's
// orchestrator nodes (loaded: call after Load) in dataDir/workflows.db (a temporary file
// without a data directory), with srv as its Runner, and attaches it to srv. With no
// definition at all it opens nothing and returns nil. clustered skips the check that the
// contracts' nodes are loaded here (another host may serve them).
func (o orchestration) openWorkflows(dataDir string, files []string, srv *server.Server, clustered bool, logger *slog.Logger) (*serveWorkflows, error) {
	defs, err := o.definitions(files, srv.Names(), !clustered)
	if err != nil {
		return nil, err
	}
	if o.plannerOf != nil {
		defs = append(defs, srv.OrchestratorDefinitions(o.plannerOf)...)
	}
	if len(defs) == 0 {
		return nil, nil
	}
	if o.open == nil {
		return nil, errNoEngine
	}
	sw := &serveWorkflows{}
	dir, tmp, err := stateDir(dataDir, workflowsFile, "workflow state", logger)
	if err != nil {
		return nil, fmt.Errorf("workflows: %w", err)
	}
	sw.tmp = tmp
	if sw.engine, err = o.open(filepath.Join(dir, workflowsFile), defs, srv, logger); err != nil {
		if sw.tmp != "" {
			_ = os.RemoveAll(sw.tmp)
		}
		return nil, failure{err}
	}
	// Attached before this returns: the doors answer as soon as serve says it serves
	// workflows, not 404 until a goroutine gets to it.
	run, err := srv.AttachWorkflows(sw.engine)
	if err != nil {
		_ = sw.engine.Close()
		if sw.tmp != "" {
			_ = os.RemoveAll(sw.tmp)
		}
		return nil, failure{err}
	}
	ctx, cancel := context.WithCancel(context.Background())
	sw.stop, sw.done = cancel, make(chan struct{})
	go func() {
		defer close(sw.done)
		if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("workflow engine detached", "error", err)
		}
	}()
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.Name
	}
	if clustered {
		// With builtin.clustered, the state is in JetStream, not in the file.
		logger.Info("workflows", "definitions", names, "clustered", true)
	} else {
		logger.Info("workflows", "definitions", names, "path", filepath.Join(dir, workflowsFile))
	}
	return sw, nil
}

// close detaches the engine from the server, then closes it: attempts in flight stop,
// their workflows stay running on disk and resume at the next start. Call it before the
// host closes the nodes the steps run on. A nil sw does nothing.
func (sw *serveWorkflows) close(logger *slog.Logger) {
	if sw == nil {
		return
	}
	sw.stop()
	<-sw.done
	if err := sw.engine.Close(); err != nil {
		logger.Warn("closing the workflow engine", "error", err)
	}
	if sw.tmp != "" {
		_ = os.RemoveAll(sw.tmp)
	}
}

// clustered returns o whose engine keeps its workflows in cl's JetStream
// (cluster.Workflows: the bucket onex_workflows, one owner per workflow at a time, a
// dead host's workflows taken over by the others) instead of <data_dir>/workflows.db.
// Without NATS (cl nil) it returns o.
func (o orchestration) clustered(cl *natsParts) orchestration {
	if cl == nil || o.open == nil {
		return o
	}
	o.open = func(_ string, defs []orchestrator.Definition, runner orchestrator.Runner, logger *slog.Logger) (workflowEngine, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ws, err := cluster.NewWorkflows(ctx, cl.nc, cl.hostID, cluster.WorkflowsConfig{Logger: logger})
		if err != nil {
			return nil, err
		}
		e, err := orchestrator.OpenStore(ws, orchestrator.Config{Definitions: defs, Runner: runner, Log: logger})
		if err != nil {
			_ = ws.Close()
			return nil, err
		}
		if err := ws.Attach(e); err != nil {
			_ = e.Close()
			return nil, err
		}
		return e, nil
	}
	return o
}
