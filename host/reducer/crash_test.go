package reducer

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var soak = flag.Bool("soak", false, "run the crash test for minutes instead of seconds")

// crashChildEnv, when set, makes the test binary a crash child: it applies events
// start..end-1 (event i: key k<i%crashKeys>, id e<i>, data n=i+1) to the store in the
// directory the variable names, printing "ack <i>" after each Apply returned, until it
// is killed or done.
const (
	crashChildEnv = "ONEX_REDUCER_CRASH_CHILD"
	crashKeys     = 4
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir, os.Args[len(os.Args)-2], os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

func crashChild(dir, from, to string) int {
	start, err1 := strconv.Atoi(from)
	end, err2 := strconv.Atoi(to)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "crash child: bad range", from, to)
		return 2
	}
	s, err := OpenStore(filepath.Join(dir, "reducer.db"), NewConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	n, err := NewNode("counter", "count", counterFold, s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	// Several senders, like a server: events of different keys commit in one group.
	out := bufio.NewWriter(os.Stdout)
	acks := make(chan int)
	for w := range crashKeys {
		go func() {
			for i := start + (w-start%crashKeys+crashKeys)%crashKeys; i < end; i += crashKeys {
				if _, err := n.Apply(context.Background(), fmt.Sprintf("k%d", i%crashKeys), counterEvent(fmt.Sprintf("e%d", i), int64(i+1))); err != nil {
					fmt.Fprintln(os.Stderr, "crash child: apply:", err)
					os.Exit(1)
				}
				acks <- i
			}
		}()
	}
	for range end - start {
		fmt.Fprintf(out, "ack %d\n", <-acks)
		out.Flush()
	}
	return 0
}

// TestStore_Crash kills a child applying events with SIGKILL at random points and
// restarts it from the lowest unacknowledged event (so acknowledged ones and any it
// applied without acknowledging are sent again). At the end every event must have been
// applied exactly once: each key's state is the sum of its events, its sequence their
// count, and the outbox holds exactly one intent per sequence.
func TestStore_Crash(t *testing.T) {
	total, kills := 3000, 8
	if *soak {
		total, kills = 40000, 80
	}
	if testing.Short() {
		total, kills = 800, 3
	}
	dir := t.TempDir()
	ctx := testCtx(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 19))
	acked := make([]bool, total)
	low := 0 // every event below low is acknowledged
	for run := 0; low < total; run++ {
		require.NoError(t, ctx.Err(), "crash test ran out of time")
		from := max(0, low-rng.IntN(8)) // resend a few acknowledged events too
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "--", strconv.Itoa(from), strconv.Itoa(total))
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		killAfter := -1
		if run < kills {
			killAfter = 1 + rng.IntN(max(1, (total-low)/(kills-run+1)))
		}
		sc := bufio.NewScanner(stdout)
		seen := 0
		for sc.Scan() {
			i, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack "))
			require.NoError(t, err, "child said %q", sc.Text())
			acked[i] = true
			seen++
			if seen == killAfter {
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				break
			}
		}
		_ = cmd.Wait() // killed, or exited 0 after the last event
		for low < total && acked[low] {
			low++
		}
	}

	s := openStore(t, dir, NewConfig())
	defer s.Close()
	pend, err := s.Pending(0)
	require.NoError(t, err)
	intents := map[string]bool{}
	for _, e := range pend {
		assert.False(t, intents[e.OperationID], "intent %s in the outbox twice", e.OperationID)
		intents[e.OperationID] = true
	}
	for k := range crashKeys {
		var sum int64
		var count uint64
		for i := k; i < total; i += crashKeys {
			sum += int64(i + 1)
			count++
		}
		key := fmt.Sprintf("k%d", k)
		ks, err := s.State("counter", key)
		require.NoError(t, err)
		assert.Equal(t, count, ks.Sequence, "key %s: every event applied exactly once", key)
		assert.Equal(t, sum, stateInt(t, ks.State), "key %s", key)
		for q := uint64(1); q <= count; q++ {
			assert.True(t, intents[fmt.Sprintf("reduce:counter:%s:%d:0", key, q)], "key %s: intent of sequence %d lost", key, q)
		}
	}
	assert.Len(t, pend, total)
}
