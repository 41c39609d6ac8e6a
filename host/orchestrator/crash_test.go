package orchestrator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crashChildEnv, when set, makes the test binary a crash child: it opens the engine in
// the directory the variable names (with fsync), starts (or finds) workflow "wf" of the
// definition named by its last argument ("seq": 10 steps; "saga": 10 steps with
// compensations, s7 failing permanently), prints "did <op id>" after each effect the
// Runner newly applied (not after one it deduplicated), and "final <status>" when the
// workflow has ended. Killed after its k-th "did", a child always makes progress.
const crashChildEnv = "ONEX_ORCHESTRATOR_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir, os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

// ledgerEffect appends "<op id> <what>" to effects.log unless a line with that op id
// is there: the line is one write(2), so after SIGKILL it is either whole or absent,
// and the file is its own op-id ledger (an effect that deduplicates by operation id).
type ledgerEffect struct {
	mu   sync.Mutex
	path string
}

func (l *ledgerEffect) apply(op, what string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := os.ReadFile(l.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, op+" ") {
			return false, nil // applied before the crash: deduplicated
		}
	}
	f, err := os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if _, err := f.WriteString(op + " " + what + "\n"); err != nil {
		return false, err
	}
	return true, f.Sync()
}

func crashChild(dir, mode string) int {
	fx := &ledgerEffect{path: filepath.Join(dir, "effects.log")}
	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex
	say := func(s string) {
		outMu.Lock()
		fmt.Fprintln(out, s)
		out.Flush()
		outMu.Unlock()
	}
	runner := RunnerFunc(func(_ context.Context, req StepRequest) (json.RawMessage, error) {
		what := "do " + req.Call.ID
		if req.Attempt == 0 {
			what = "undo " + req.Call.ID
		} else if mode == "saga" && req.Call.ID == "s7" {
			return nil, Permanent(errors.New("s7 refuses"))
		}
		applied, err := fx.apply(req.OperationID, what)
		if err != nil {
			return nil, err
		}
		if applied {
			say("did " + req.OperationID)
		}
		return json.RawMessage(`"ok"`), nil
	})
	e, err := Open(filepath.Join(dir, "workflows.db"), Config{
		Runner:      runner,
		Definitions: []Definition{{Name: "seq", Plan: seqPlanner(10, false, nil)}, {Name: "saga", Plan: seqPlanner(10, true, nil)}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	ctx := context.Background()
	if _, _, err := e.Start(ctx, "wf", mode, json.RawMessage(`{"n":10}`)); err != nil {
		fmt.Fprintln(os.Stderr, "crash child: start:", err)
		return 1
	}
	w, err := e.Wait(ctx, "wf")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child: wait:", err)
		return 1
	}
	say("final " + string(w.Status))
	return 0
}

// crashRun runs crash children until one reports the workflow final, killing each
// with SIGKILL after its k-th effect; it returns the final status and the runs.
func crashRun(t *testing.T, dir, mode string, k int) (string, int) {
	ctx := testCtx(t)
	for run := 1; ; run++ {
		require.NoError(t, ctx.Err(), "crash test ran out of time")
		require.Less(t, run, 50, "no progress")
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "--", mode)
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(stdout)
		did, final := 0, ""
		for sc.Scan() {
			line := sc.Text()
			if s, ok := strings.CutPrefix(line, "final "); ok {
				final = s
				break
			}
			if strings.HasPrefix(line, "did ") {
				did++
				if did == k {
					require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
					break
				}
			}
		}
		_ = cmd.Wait()
		if final != "" {
			return final, run
		}
	}
}

func effectLines(t *testing.T, dir string) map[string]int {
	b, err := os.ReadFile(filepath.Join(dir, "effects.log"))
	require.NoError(t, err)
	lines := map[string]int{}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		lines[string(l)]++
	}
	return lines
}

// TestCrash_Sequential kills a process running a 10-step workflow after every k-th
// effect (k = 1, 2, 3) and restarts it: the workflow completes and every step's
// effect is in the file exactly once (re-runs after a crash carry the same op id).
func TestCrash_Sequential(t *testing.T) {
	t.Parallel()
	for _, k := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			dir := t.TempDir()
			final, runs := crashRun(t, dir, "seq", k)
			assert.Equal(t, string(abi.WorkflowCompleted), final)
			assert.Greater(t, runs, 1, "killed at least once (a child may apply more before the kill lands)")
			lines := effectLines(t, dir)
			require.Len(t, lines, 10)
			for s := 1; s <= 10; s++ {
				id := fmt.Sprintf("s%d", s)
				assert.Equal(t, 1, lines[abi.StepOperationID("wf", id, 1)+" do "+id], id)
			}
		})
	}
}

// TestCrash_Saga: the same with compensations and s7 failing permanently: after the
// crashes s1..s6 are each applied once and undone once, newest first.
func TestCrash_Saga(t *testing.T) {
	t.Parallel()
	for _, k := range []int{1, 3} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			dir := t.TempDir()
			final, _ := crashRun(t, dir, "saga", k)
			assert.Equal(t, string(abi.WorkflowFailed), final)
			lines := effectLines(t, dir)
			require.Len(t, lines, 12)
			for s := 1; s <= 6; s++ {
				id := fmt.Sprintf("s%d", s)
				assert.Equal(t, 1, lines[abi.StepOperationID("wf", id, 1)+" do "+id], id)
				assert.Equal(t, 1, lines[abi.StepOperationID("wf", id, 0)+" undo "+id], id)
			}
			b, err := os.ReadFile(filepath.Join(dir, "effects.log"))
			require.NoError(t, err)
			order := strings.Split(strings.TrimSpace(string(b)), "\n")
			for i, s := range []string{"s6", "s5", "s4", "s3", "s2", "s1"} {
				assert.True(t, strings.HasSuffix(order[6+i], "undo "+s), "compensation %d is of %s: %s", i, s, order[6+i])
			}
			e := openEngine(t, dir, &counter{}, Definition{Name: "saga", Plan: seqPlanner(10, true, nil)})
			w, err := e.Get("wf")
			require.NoError(t, err)
			require.Len(t, w.Steps, 7)
			for _, st := range w.Steps[:6] {
				assert.Equal(t, abi.StepCompensated, st.Status, st.Call.ID)
			}
			assert.Equal(t, abi.StepFailed, w.Steps[6].Status)
		})
	}
}
