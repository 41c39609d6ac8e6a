package watch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counter returns an Entry whose OnExpire counts its calls.
func counter(tb testing.TB) (*Entry, *atomic.Int64) {
	tb.Helper()
	var n atomic.Int64
	return &Entry{OnExpire: func() { n.Add(1) }}, &n
}

func TestWatchdog_Arm(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration // deadline relative to the Arm
	}{
		{name: "future deadline", offset: time.Second},
		{name: "tiny deadline", offset: time.Nanosecond},
		{name: "deadline now", offset: 0},
		{name: "past deadline", offset: -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := New(0)
				defer w.Close()
				e, n := counter(t)

				w.Arm(e, time.Now().Add(tt.offset))
				if tt.offset > 0 {
					time.Sleep(tt.offset - time.Nanosecond)
					synctest.Wait()
					assert.Zero(t, n.Load(), "fired before the deadline")
					assert.Equal(t, 1, w.Len())
					time.Sleep(time.Nanosecond)
				}
				synctest.Wait()
				assert.EqualValues(t, 1, n.Load(), "did not fire at the deadline")
				assert.Zero(t, w.Len())

				time.Sleep(time.Hour)
				synctest.Wait()
				assert.EqualValues(t, 1, n.Load(), "fired twice")
				assert.Equal(t, Expired, w.Disarm(e))
			})
		})
	}
}

func TestWatchdog_Arm_panics(t *testing.T) {
	tests := []struct {
		name string
		prep func(w *Watchdog, e *Entry)
	}{
		{name: "armed", prep: func(w *Watchdog, e *Entry) { w.Arm(e, time.Now().Add(time.Hour)) }},
		{name: "fired, not disarmed", prep: func(w *Watchdog, e *Entry) {
			w.Arm(e, time.Now())
			synctest.Wait()
		}},
		{name: "closed", prep: func(w *Watchdog, _ *Entry) { w.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := New(0)
				defer w.Close()
				e, _ := counter(t)
				tt.prep(w, e)
				assert.Panics(t, func() { w.Arm(e, time.Now().Add(time.Hour)) })
				w.Disarm(e)
			})
		})
	}
}

func TestWatchdog_Arm_order(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(0)
		defer w.Close()

		// OnExpire runs on the single watchdog goroutine, so got needs no lock.
		var got []int
		offsets := []int{5, 1, 9, 3, 7, 2, 8, 4, 6, 10}
		entries := make([]Entry, len(offsets))
		start := time.Now()
		for i, off := range offsets {
			entries[i].OnExpire = func() { got = append(got, off) }
			w.Arm(&entries[i], start.Add(time.Duration(off)*time.Millisecond))
		}

		// Step through time: each deadline fires on its own wakeup.
		time.Sleep(4*time.Millisecond + time.Microsecond)
		synctest.Wait()
		assert.Equal(t, []int{1, 2, 3, 4}, got)
		assert.Equal(t, 6, w.Len())

		// Jump past the rest: one wakeup must deliver them in deadline order.
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, got)
		for i := range entries {
			assert.Equal(t, Expired, w.Disarm(&entries[i]))
		}
		assert.Zero(t, w.Len())
	})
}

func TestWatchdog_Disarm(t *testing.T) {
	tests := []struct {
		name      string
		deadline  time.Duration // relative to the Arm
		sleep     time.Duration // between Arm and Disarm
		wantFired bool
	}{
		{name: "before deadline", deadline: time.Second, sleep: time.Second - time.Nanosecond},
		{name: "immediately", deadline: time.Second},
		{name: "after deadline", deadline: time.Second, sleep: time.Second, wantFired: true},
		{name: "long after deadline", deadline: time.Second, sleep: time.Hour, wantFired: true},
		{name: "past deadline", deadline: -time.Second, sleep: time.Nanosecond, wantFired: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := New(0)
				defer w.Close()
				e, n := counter(t)

				w.Arm(e, time.Now().Add(tt.deadline))
				time.Sleep(tt.sleep)
				synctest.Wait()
				assert.Equal(t, tt.wantFired, w.Disarm(e) == Expired)
				assert.Zero(t, w.Len())

				time.Sleep(2 * time.Hour)
				synctest.Wait()
				want := int64(0)
				if tt.wantFired {
					want = 1
				}
				assert.Equal(t, want, n.Load())
				assert.Equal(t, InTime, w.Disarm(e), "second Disarm")
			})
		})
	}
}

func TestWatchdog_Disarm_rearm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(0)
		defer w.Close()
		e, n := counter(t)

		// Disarmed before its deadline, then re-armed with a later one: the
		// timer still aims at the first deadline and must re-aim, not fire.
		w.Arm(e, time.Now().Add(time.Second))
		require.Equal(t, InTime, w.Disarm(e))
		w.Arm(e, time.Now().Add(3*time.Second))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Zero(t, n.Load())
		time.Sleep(time.Second)
		synctest.Wait()
		assert.EqualValues(t, 1, n.Load())
		require.Equal(t, Expired, w.Disarm(e))

		// Re-armed after firing: it fires again, once.
		w.Arm(e, time.Now().Add(time.Second))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.EqualValues(t, 2, n.Load())
		require.Equal(t, Expired, w.Disarm(e))

		// An earlier deadline than the one the timer waits for resets it.
		other, m := counter(t)
		w.Arm(other, time.Now().Add(time.Hour))
		w.Arm(e, time.Now().Add(time.Second))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.EqualValues(t, 3, n.Load())
		assert.Zero(t, m.Load())
		assert.Equal(t, InTime, w.Disarm(other))
		assert.Equal(t, Expired, w.Disarm(e))
	})
}

func TestWatchdog_Disarm_removesFromMiddle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(0)
		defer w.Close()

		const n = 100
		var fired [n]atomic.Bool
		entries := make([]Entry, n)
		start := time.Now()
		for i := range entries {
			entries[i].OnExpire = func() { fired[i].Store(true) }
			// Scrambled deadlines so disarms hit every heap position.
			w.Arm(&entries[i], start.Add(time.Duration(1+(i*37)%n)*time.Second))
		}
		for i := 0; i < n; i += 2 {
			require.Equal(t, InTime, w.Disarm(&entries[i]))
		}
		assert.Equal(t, n/2, w.Len())

		time.Sleep(time.Duration(n+1) * time.Second)
		synctest.Wait()
		for i := range entries {
			assert.Equal(t, i%2 == 1, fired[i].Load(), "entry %d", i)
			assert.Equal(t, i%2 == 1, w.Disarm(&entries[i]) == Expired, "entry %d", i)
		}
		assert.Zero(t, w.Len())
	})
}

func TestWatchdog_Len(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(0)
		defer w.Close()
		a, _ := counter(t)
		b, _ := counter(t)

		assert.Zero(t, w.Len())
		w.Arm(a, time.Now().Add(time.Second))
		w.Arm(b, time.Now().Add(time.Hour))
		assert.Equal(t, 2, w.Len())
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, 1, w.Len(), "fired entries are not counted")
		w.Disarm(b)
		assert.Zero(t, w.Len())
		w.Disarm(a)
	})
}

func TestWatchdog_Close(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(0)
		e, n := counter(t)
		w.Arm(e, time.Now().Add(time.Second))

		w.Close()
		w.Close() // idempotent
		// synctest.Test fails if the goroutine outlives the bubble; checking
		// here too proves Close itself waited for it.
		select {
		case <-w.stopped:
		default:
			t.Fatal("goroutine still running after Close")
		}

		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Zero(t, n.Load(), "fired after Close")
		assert.Equal(t, InTime, w.Disarm(e))
		assert.Zero(t, w.Len())
	})
}

func TestWatchdog_Close_waitsForOnExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(0)
		var finished atomic.Bool
		e := &Entry{OnExpire: func() {
			time.Sleep(time.Second)
			finished.Store(true)
		}}
		w.Arm(e, time.Now())
		synctest.Wait() // OnExpire is now sleeping
		w.Close()
		assert.True(t, finished.Load())
		assert.Equal(t, Expired, w.Disarm(e))
	})
}

// heapLen returns the number of entries in w's heap, armed or watched for
// overdue.
func heapLen(w *Watchdog) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.heap)
}

// recorder returns an Entry with both callbacks, which append "expire" and
// "overdue" to the returned log in the order they run.
func recorder(tb testing.TB) (*Entry, func() []string) {
	tb.Helper()
	var mu sync.Mutex
	var got []string
	add := func(s string) func() {
		return func() { mu.Lock(); got = append(got, s); mu.Unlock() }
	}
	return &Entry{OnExpire: add("expire"), OnOverdue: add("overdue")}, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func TestWatchdog_Disarm_overdue(t *testing.T) {
	const deadline, grace = time.Second, 10 * time.Second
	tests := []struct {
		name    string
		grace   time.Duration // the watchdog's
		noOver  bool          // the entry has no OnOverdue
		sleep   time.Duration // between Arm and Disarm
		want    Outcome
		wantLog []string
	}{
		{name: "in time", grace: grace, sleep: deadline - time.Nanosecond, want: InTime},
		{name: "at the deadline", grace: grace, sleep: deadline, want: Expired, wantLog: []string{"expire"}},
		{name: "within the grace", grace: grace, sleep: deadline + grace - time.Nanosecond,
			want: Expired, wantLog: []string{"expire"}},
		{name: "at the grace", grace: grace, sleep: deadline + grace,
			want: Overdue, wantLog: []string{"expire", "overdue"}},
		{name: "long after", grace: grace, sleep: time.Hour, want: Overdue, wantLog: []string{"expire", "overdue"}},
		{name: "no grace", sleep: time.Hour, want: Expired, wantLog: []string{"expire"}},
		{name: "no OnOverdue", grace: grace, noOver: true, sleep: time.Hour, want: Expired, wantLog: []string{"expire"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := New(tt.grace)
				defer w.Close()
				e, log := recorder(t)
				if tt.noOver {
					e.OnOverdue = nil
				}
				w.Arm(e, time.Now().Add(deadline))
				time.Sleep(tt.sleep)
				synctest.Wait()
				assert.Equal(t, tt.wantLog, log())
				assert.Equal(t, tt.want, w.Disarm(e))
				assert.Zero(t, w.Len())
				assert.Zero(t, heapLen(w), "left in the heap")

				// Nothing more happens once disarmed, and the entry is reusable.
				time.Sleep(2 * time.Hour)
				synctest.Wait()
				assert.Equal(t, tt.wantLog, log())
				assert.Equal(t, InTime, w.Disarm(e), "second Disarm")
				w.Arm(e, time.Now().Add(time.Hour))
				assert.Equal(t, InTime, w.Disarm(e))
			})
		})
	}
}

// A deadline that passed more than the grace ago fires and is overdue in the
// same wakeup, OnExpire first.
func TestWatchdog_Arm_overdueAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(time.Second)
		defer w.Close()
		e, log := recorder(t)
		w.Arm(e, time.Now().Add(-time.Hour))
		synctest.Wait()
		assert.Equal(t, []string{"expire", "overdue"}, log())
		assert.Equal(t, Overdue, w.Disarm(e))
	})
}

// Entries watched for overdue stay in the heap after they fire, among armed
// ones: each callback comes at its own time, and Len counts armed entries
// only.
func TestWatchdog_overdue_order(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = 10 * time.Second
		w := New(grace)
		defer w.Close()
		var mu sync.Mutex
		var got []string
		entries := make([]Entry, 3)
		start := time.Now()
		for i := range entries {
			entries[i].OnExpire = func() { mu.Lock(); got = append(got, fmt.Sprint("expire ", i)); mu.Unlock() }
			entries[i].OnOverdue = func() { mu.Lock(); got = append(got, fmt.Sprint("overdue ", i)); mu.Unlock() }
			// Deadlines at 0 s, 5 s and 20 s: the first one's overdue (10 s) falls
			// between the second's deadline and its overdue.
			w.Arm(&entries[i], start.Add([]time.Duration{0, 5 * time.Second, 20 * time.Second}[i]))
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		assert.Equal(t, 1, w.Len())
		time.Sleep(time.Hour)
		synctest.Wait()
		mu.Lock()
		assert.Equal(t, []string{"expire 0", "expire 1", "overdue 0", "overdue 1", "expire 2", "overdue 2"}, got)
		mu.Unlock()
		assert.Zero(t, w.Len())
		for i := range entries {
			assert.Equal(t, Overdue, w.Disarm(&entries[i]))
		}
	})
}

// TestWatchdog_Hammer races Arm and Disarm from many goroutines against the
// watchdog's goroutine in real time, with a grace short enough for entries to
// become overdue, then checks that every expiry and every overdue was
// reported by exactly one Disarm.
func TestWatchdog_Hammer(t *testing.T) {
	const (
		workers = 64
		calls   = 2000
	)
	w := New(20 * time.Microsecond)
	var expired, overdue, reportedExpired, reportedOverdue, armed atomic.Int64
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			e := &Entry{OnExpire: func() { expired.Add(1) }, OnOverdue: func() { overdue.Add(1) }}
			for i := range calls {
				var d time.Duration
				switch (g + i) % 4 {
				case 0:
					d = -time.Millisecond // already passed, and the grace too
				case 1:
					d = time.Microsecond // races Disarm
				default:
					d = time.Hour // never fires
				}
				w.Arm(e, time.Now().Add(d))
				armed.Add(1)
				if i%16 == 0 {
					time.Sleep(10 * time.Microsecond) // let the watchdog win
				}
				switch w.Disarm(e) {
				case Expired:
					reportedExpired.Add(1)
				case Overdue:
					reportedOverdue.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, w.Len())
	assert.Zero(t, heapLen(w), "a disarmed entry left in the heap")
	w.Close() // waits for callbacks still running
	assert.Equal(t, reportedExpired.Load()+reportedOverdue.Load(), expired.Load())
	assert.Equal(t, reportedOverdue.Load(), overdue.Load())
	assert.Positive(t, expired.Load(), "nothing ever fired")
	assert.Positive(t, overdue.Load(), "nothing was ever overdue")
	assert.EqualValues(t, workers*calls, armed.Load())
	t.Logf("%d of %d calls expired, %d overdue", expired.Load(), armed.Load(), overdue.Load())
}

func BenchmarkWatchdog_ArmDisarm(b *testing.B) {
	for _, tt := range []struct {
		name  string
		armed int           // other entries in the heap
		after time.Duration // their deadlines, relative to the benchmarked one
	}{
		{name: "empty"},
		// Typical: every call has the same timeout, so the newest deadline
		// is the latest and stays a leaf.
		{name: "1000 earlier", armed: 1000, after: -time.Hour},
		// Worst case: every Arm becomes the new minimum.
		{name: "1000 later", armed: 1000, after: time.Hour},
	} {
		b.Run(tt.name, func(b *testing.B) {
			w := New(0)
			defer w.Close()
			const timeout = 2 * time.Hour
			others := make([]Entry, tt.armed)
			for i := range others {
				w.Arm(&others[i], time.Now().Add(timeout+tt.after+time.Duration(i)))
			}
			var e Entry
			b.ReportAllocs()
			for b.Loop() {
				w.Arm(&e, time.Now().Add(timeout))
				w.Disarm(&e)
			}
			for i := range others {
				w.Disarm(&others[i])
			}
		})
	}
}

func BenchmarkWatchdog_ArmDisarm_parallel(b *testing.B) {
	w := New(0)
	defer w.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var e Entry
		for pb.Next() {
			w.Arm(&e, time.Now().Add(time.Hour))
			w.Disarm(&e)
		}
	})
}

// BenchmarkContextWithTimeout is the per-call cost Watchdog replaces.
func BenchmarkContextWithTimeout(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, cancel := context.WithTimeout(ctx, time.Minute)
		_ = c
		cancel()
	}
}
