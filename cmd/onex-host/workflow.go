package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/orchestrator"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/server/config"
)

// DefaultServerURL is where the workflow commands find a running serve unless told.
const DefaultServerURL = "http://127.0.0.1:8080"

func newWorkflowCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workflow {run | status | list | cancel | pause | resume}",
		Short: "Run a workflow contract locally, or watch and steer the workflows of a running serve",
		Long: "run executes one workflow contract (YAML) on a local engine, over the nodes of a\n" +
			"config file, and prints its output. The other verbs talk to a running serve over HTTP\n" +
			"(--addr; the bearer token from --token or $ONEX_TOKEN):\n" +
			"status <id> prints the workflow with every step, list the workflows (--status\n" +
			"filters), cancel, pause and resume <id> change one and print it.\n" +
			"Exit status: 0 ok, 1 the workflow failed or was cancelled, or the server refused, 2 misuse.",
		Args: exactArgs("a verb", 0),
	}
	var c workflowClient
	verb := func(name, use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
		v := &cobra.Command{Use: use, Short: short, Args: args, RunE: run}
		v.Flags().StringVar(&c.addr, "addr", DefaultServerURL, "the serve to talk to")
		v.Flags().StringVar(&c.token, "token", "", "the bearer token (default $ONEX_TOKEN)")
		return v
	}
	var status string
	var limit int
	var asJSON bool
	list := verb("list", "list [--status <status>] [--limit <n>] [--json]", "List the workflows of a running serve, by id", exactArgs("no arguments", 0),
		func(cmd *cobra.Command, args []string) error {
			return c.list(cmd.Context(), e, status, limit, asJSON)
		})
	list.Flags().StringVar(&status, "status", "", "only workflows in this status: {pending | running | paused | completed | failed | cancelled}")
	list.Flags().IntVar(&limit, "limit", 0, "at most this many (0: every workflow, page after page)")
	list.Flags().BoolVar(&asJSON, "json", false, "print the summaries as JSON")
	cmd.AddCommand(
		newWorkflowRunCmd(e),
		verb("status", "status <id>", "Print one workflow of a running serve with every step", exactArgs("<id>", 1),
			func(cmd *cobra.Command, args []string) error {
				var w json.RawMessage
				if err := c.do(cmd.Context(), http.MethodGet, "/v1/workflows/"+url.PathEscape(args[0]), nil, &w); err != nil {
					return err
				}
				return printJSON(e, w)
			}),
		list,
	)
	for _, action := range []string{"cancel", "pause", "resume"} {
		cmd.AddCommand(verb(action, action+" <id>", strings.ToUpper(action[:1])+action[1:]+" one workflow of a running serve", exactArgs("<id>", 1),
			func(cmd *cobra.Command, args []string) error {
				var w json.RawMessage
				if err := c.do(cmd.Context(), http.MethodPost, "/v1/workflows/"+url.PathEscape(args[0])+"/"+action, nil, &w); err != nil {
					return err
				}
				return printJSON(e, w)
			}))
	}
	return cmd
}

// workflowClient talks to the workflow doors of a running serve.
type workflowClient struct {
	addr, token string
}

// do sends method path (with body when not nil) and decodes a 2xx answer into out; any
// other answer, or none, is a failure naming the server's error code and message.
func (c workflowClient) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := apiRequest(ctx, c.addr, c.token, method, path, body)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return failure{fmt.Errorf("workflow: %w", err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return failure{fmt.Errorf("workflow: reading the answer: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
			return failure{fmt.Errorf("workflow: %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)}
		}
		return failure{fmt.Errorf("workflow: %s: %s", c.addr, resp.Status)}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return failure{fmt.Errorf("workflow: decoding the answer: %w", err)}
	}
	return nil
}

// workflowSummary is one workflow of GET /v1/workflows.
type workflowSummary struct {
	WorkflowID string    `json:"workflow_id"`
	Workflow   string    `json:"workflow"`
	Status     string    `json:"status"`
	Steps      int       `json:"steps"`
	Done       int       `json:"done"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// list prints the server's workflows (at most limit when above 0), fetching page after
// page, as a table or as a JSON array.
func (c workflowClient) list(ctx context.Context, e *env, status string, limit int, asJSON bool) error {
	if limit < 0 {
		return fmt.Errorf("--limit %d is negative", limit)
	}
	all := []workflowSummary{}
	cursor := ""
	for {
		q := url.Values{}
		if status != "" {
			q.Set("status", status)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if limit > 0 {
			q.Set("limit", strconv.Itoa(min(limit-len(all), 1000)))
		}
		var page struct {
			Workflows  []workflowSummary `json:"workflows"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := c.do(ctx, http.MethodGet, "/v1/workflows?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		all = append(all, page.Workflows...)
		if cursor = page.NextCursor; cursor == "" || (limit > 0 && len(all) >= limit) {
			break
		}
	}
	if asJSON {
		return printJSON(e, all)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWORKFLOW\tSTATUS\tSTEPS DONE\tUPDATED")
	for _, w := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", w.WorkflowID, w.Workflow, w.Status, w.Done, w.Steps, w.UpdatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func newWorkflowRunCmd(e *env) *cobra.Command {
	var configPath, input, dataDir, id string
	cmd := &cobra.Command{
		Use:   "run <workflow.yaml> [--input {<json> | @<file>}] [--id <id>] [--config <onex.yaml>] [--data-dir <dir>]",
		Short: "Run one workflow contract on a local engine and print its output",
		Long: "Load the nodes of --config (as serve does; default: bin/plugins, skipping nodes that\n" +
			"need grants), start the workflow of the contract with --input under --id (default: a\n" +
			"new id), and wait for it to end. On a terminal, stderr shows the steps done, running\n" +
			"and failed. The output is printed as JSON on stdout.\n\n" +
			"Without --data-dir the workflow lives in a temporary store removed at exit; with it,\n" +
			"in <dir>/workflows.db (and reducer state in <dir>/reducers.db, the files serve uses):\n" +
			"run again with the same --id after an interruption and the workflow resumes where\n" +
			"it stopped (completed steps do not run again); once it has ended, its result is\n" +
			"printed again.\n" +
			"Exit status: 0 completed, 1 failed or cancelled (the error on stderr), 2 misuse.",
		Example: "  onex-host workflow run order.yaml --input '{\"order_id\":\"o-1\"}' --config onex.yaml\n" +
			"  onex-host workflow run order.yaml --input @order.json --id order-o-1 --data-dir var/wf",
		Args: exactArgs("<workflow.yaml>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := readWorkflowInput(e, input)
			if err != nil {
				return err
			}
			if id == "" {
				b := make([]byte, 8)
				_, _ = rand.Read(b)
				id = "run-" + hex.EncodeToString(b)
			}
			f := config.Default()
			if configPath != "" {
				if f, err = config.Load(configPath); err != nil {
					return err
				}
			}
			f.DataDir = dataDir
			return runWorkflowLocal(cmd.Context(), e, builtin, f, configPath == "", args[0], id, in)
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "null", "the workflow's input: JSON, or @<file> holding it (@- for stdin)")
	cmd.Flags().StringVar(&id, "id", "", "the workflow id (default: run- and 16 random hex digits)")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "the config file whose nodes the steps run on (default: bin/plugins)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "keep the workflow in <dir>/workflows.db across runs (default: a temporary store)")
	return cmd
}

// readWorkflowInput is --input: JSON, or @file; every error is misuse.
func readWorkflowInput(e *env, v string) (json.RawMessage, error) {
	b := []byte(v)
	if name, ok := strings.CutPrefix(v, "@"); ok {
		var err error
		if name == "-" {
			b, err = io.ReadAll(e.stdin)
		} else {
			b, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, fmt.Errorf("--input: %w", err)
		}
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("--input: not one JSON value")
	}
	return json.RawMessage(strings.TrimSpace(string(b))), nil
}

// runWorkflowLocal serves the nodes of f without listening, opens an engine over the
// contract at path (and the orchestrator nodes), runs workflow id and prints its end.
func runWorkflowLocal(ctx context.Context, e *env, o orchestration, f *config.File, skipUngranted bool, path, id string, input json.RawMessage) error {
	if o.load == nil || o.open == nil {
		return failure{errNoEngine}
	}
	logger, err := e.logger()
	if err != nil {
		return err
	}
	hcfg, err := f.HostConfig(logger)
	if err != nil {
		return err
	}
	nodes, err := f.Nodes()
	if err != nil {
		return err
	}
	h, err := host.New(context.Background(), hcfg)
	if err != nil {
		return failure{err}
	}
	defer h.Close(context.Background())
	rs, err := openReducers(f.DataDir, logger)
	if err != nil {
		return failure{err}
	}
	defer rs.close()
	srv := server.New(h, server.Options{Logger: logger, Reducers: rs.store,
		BeforeReady: func(ctx context.Context) error { _, err := h.Recover(ctx); return err }})
	var specs []server.NodeSpec
	for _, n := range nodes {
		if n.Workflow != "" {
			continue
		}
		if skipUngranted && n.FSM == "" {
			if p, err := h.LoadFile(ctx, n.Path, n.PluginConfig); errors.Is(err, host.ErrCapabilityDenied) {
				logger.Warn("not loading a node that needs capabilities: list it in a config file with its grants", "path", n.Path)
				continue
			} else if err == nil {
				_ = p.Close(ctx)
			}
		}
		specs = append(specs, server.NodeSpec{Path: n.Path, Plugin: n.PluginConfig, Effect: n.Effect, Name: n.Name, Resolve: n.Resolve, FSM: n.FSM})
	}
	if err := srv.Load(ctx, specs); err != nil {
		if errors.Is(err, server.ErrLoad) {
			return err
		}
		return failure{err}
	}
	rs.startIntents(srv, logger)
	def, _, err := o.load(path)
	if err != nil {
		return err // workflow.Load's errors name the file
	}
	sw, err := o.openWorkflows(f.DataDir, []string{path}, srv, false, logger)
	if err != nil {
		return err
	}
	defer sw.close(logger)
	return runWorkflow(ctx, e, sw.engine, id, def.Name, input)
}

// runWorkflow starts workflow name under id on eng (or finds it), shows its progress on
// a terminal stderr, waits for its end and prints its output; a failed or cancelled
// workflow is a failure naming its error and the failed steps.
func runWorkflow(ctx context.Context, e *env, eng server.Workflows, id, name string, input json.RawMessage) error {
	stop := func() {}
	if isTerminal(e.stderr) {
		events, cancel := eng.Subscribe(1024) // before Start: no step is missed
		defer cancel()
		defer func() { stop() }()
		stop = showSteps(e.stderr, id, events)
	}
	if _, _, err := eng.Start(ctx, id, name, input); err != nil {
		if errors.Is(err, orchestrator.ErrInvalidID) || errors.Is(err, orchestrator.ErrConflict) {
			return fmt.Errorf("--id %q: %w", id, err)
		}
		return failure{err}
	}
	w, err := eng.Wait(ctx, id)
	stop()
	stop = func() {}
	if err != nil {
		return failure{fmt.Errorf("workflow %s: %w", id, err)}
	}
	if w.Status != abi.WorkflowCompleted {
		var failed []string
		for _, s := range w.Steps {
			// A step whose error the workflow's already says is not said twice.
			if s.Status == abi.StepFailed && s.Error != nil && !strings.Contains(w.Error, s.Error.Message) {
				failed = append(failed, fmt.Sprintf("%s: %s", s.Call.ID, strings.TrimSpace(s.Error.Message)))
			}
		}
		msg := fmt.Sprintf("workflow %s %s: %s", id, w.Status, strings.TrimSpace(w.Error))
		if len(failed) > 0 {
			msg += " (failed steps: " + strings.Join(failed, "; ") + ")"
		}
		return failure{errors.New(msg)}
	}
	out := w.Output
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	return printJSON(e, out)
}

// stepCounts is what the progress line shows.
type stepCounts struct{ done, running, failed, skipped, retries int }

// count applies one event of the workflow.
func (c *stepCounts) count(ev orchestrator.Event) {
	switch ev.Type {
	case "step.started":
		c.running++
	case "step.completed":
		c.running, c.done = max(c.running-1, 0), c.done+1
	case "step.failed":
		c.running, c.failed = max(c.running-1, 0), c.failed+1
	case "step.retrying":
		c.running, c.retries = max(c.running-1, 0), c.retries+1
	case "step.skipped":
		c.skipped++
	}
}

func (c stepCounts) String() string {
	s := fmt.Sprintf("steps: %d done, %d running, %d failed", c.done, c.running, c.failed)
	if c.skipped > 0 {
		s += fmt.Sprintf(", %d skipped", c.skipped)
	}
	if c.retries > 0 {
		s += fmt.Sprintf(", %d retries", c.retries)
	}
	return s
}

// showSteps draws the progress line of workflow id on w (a terminal) from events until
// the returned stop, which erases it.
func showSteps(w io.Writer, id string, events <-chan orchestrator.Event) (stop func()) {
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		var c stepCounts
		width := 0
		for {
			select {
			case <-quit:
				fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", width))
				return
			case ev, ok := <-events:
				if !ok {
					<-quit
					fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", width))
					return
				}
				if ev.WorkflowID != id {
					continue
				}
				c.count(ev)
				line := c.String()
				fmt.Fprintf(w, "\r%-*s", width, line)
				width = max(width, len(line))
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
	}
}
