package guest

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSleeper_Nanosleep: a guest's sleep lasts what it asked for while its call goes on,
// and ends the call (panics with ErrSleepStopped) the moment the call's context ends,
// not when the sleep would have. Time is synctest's, so the durations are exact.
func TestSleeper_Nanosleep(t *testing.T) {
	const sleep = 5 * time.Second
	for _, tc := range []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		ns      int64
		want    time.Duration // how long nanosleep blocks
		stopped bool          // whether it ends the call
	}{
		{"no end", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			int64(sleep), sleep, false},
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
			int64(sleep), sleep, false},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, int64(sleep), 100 * time.Millisecond, true},
		{"canceled during the sleep", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			return ctx, cancel
		}, int64(sleep), time.Second, true},
		{"already ended", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, int64(sleep), 0, true},
		{"zero, already ended", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, 0, 0, true},
		{"zero", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := tc.ctx()
				defer cancel()
				s := Sleeper{Ctx: ctx}
				start := time.Now()
				var stopped any
				func() {
					defer func() { stopped = recover() }()
					s.Nanosleep(tc.ns)
				}()
				assert.Equal(t, tc.want, time.Since(start))
				if tc.stopped {
					assert.Equal(t, ErrSleepStopped, stopped)
				} else {
					assert.Nil(t, stopped)
				}
			})
		})
	}
}
