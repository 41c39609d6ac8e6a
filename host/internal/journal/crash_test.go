package journal

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helperEnv names the journal file TestHelperProcess uses; it is set only in
// the child process TestJournal_kill starts.
const helperEnv = "ONEX_JOURNAL_HELPER_PATH"

// TestHelperProcess is not a real test: run as a child of TestJournal_kill,
// it journals a committed transaction with an event it never marks
// published and two operations of an active one, prints "ready" and waits
// to be killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestJournal_kill")
	}
	j, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	m, err := tx.New(tx.Config{Compensators: compensators(&compensator{}), Publish: discard, Observer: j})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	ctx := context.Background()
	done, _ := m.Begin("notifier", 1, "")
	_ = done.Apply(write("/srv/n"), func() error { return nil })
	_ = done.Hold(event("sent"))
	if _, err := done.Commit(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	live, _ := m.Begin("file_writer", 1, "")
	for _, target := range []string{"/srv/a", "/srv/b"} {
		if err := live.Apply(write(target), func() error { return nil }); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
	fmt.Printf("ready %s %s\n", done.ID(), live.ID())
	time.Sleep(time.Minute) // the parent kills us long before
	os.Exit(4)
}

// A process killed with SIGKILL right after OnRecord returned leaves its
// journal with everything it recorded: the writes reached the file before
// they returned.
func TestJournal_kill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := journalPath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	lines := make(chan string, 1)
	go func() { // ends when the child's stdout closes, at its death at the latest
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var committedID, activeID string
	select {
	case line, ok := <-lines:
		require.True(t, ok, "child exited before it was ready")
		_, err := fmt.Sscanf(line, "ready %s %s", &committedID, &activeID)
		require.NoError(t, err, "child said %q", line)
	case <-time.After(10 * time.Second):
		t.Fatal("child not ready after 10 s")
	}
	require.NoError(t, cmd.Process.Kill())
	err = cmd.Wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	assert.False(t, exitErr.Exited(), "killed by a signal, not exited")

	j := openJournal(t, path, Options{LockTimeout: 5 * time.Second})
	snaps, err := j.Incomplete()
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	assert.Equal(t, activeID, snaps[0].ID)
	assert.Equal(t, tx.StateActive, snaps[0].State)
	assert.Equal(t, []string{"/srv/a", "/srv/b"}, targets(snaps[0].Operations))

	unpublished, err := j.Unpublished()
	require.NoError(t, err)
	require.Len(t, unpublished, 1)
	assert.Equal(t, committedID, unpublished[0].ID)
	require.Len(t, unpublished[0].Outbox, 1)
	assert.Equal(t, "env-sent", unpublished[0].Outbox[0].EnvelopeID)
}
