package abi

import (
	"context"
	"io"
	"sync"
	"testing"
)

// gatedRand is a random source whose first read by each instance blocks
// until open is closed: the Go runtime reads random bytes while an instance
// is made, so a test can hold several instantiations (and with them several
// invocations) in flight at once, without timing.
type gatedRand struct {
	entered chan struct{} // one send per read that waited
	open    chan struct{}
}

func (g *gatedRand) Read(b []byte) (int, error) {
	select {
	case <-g.open:
	default:
		g.entered <- struct{}{}
		<-g.open
	}
	for i := range b {
		b[i] = byte(i)
	}
	return len(b), nil
}

var _ io.Reader = (*gatedRand)(nil)

// TestPoolMaxIdle runs four invocations at once (four live instances) in a
// pool that keeps at most MaxIdle warm instances: when they come back, the
// pool keeps MaxIdle of them and closes the others; later invocations reuse
// the kept ones and the idle count never grows beyond MaxIdle.
func TestPoolMaxIdle(t *testing.T) {
	rt := newRuntime(t, true)
	cm, _ := compile(t, rt, goGuest(t))
	for _, tc := range []struct{ maxIdle, want int }{{2, 2}, {0, 4}, {8, 4}} {
		g := &gatedRand{entered: make(chan struct{}, 64), open: make(chan struct{})}
		p := NewPool(rt, cm, PoolConfig{MaxInstances: 4, MaxIdle: tc.maxIdle, ModuleConfig: ModuleConfig().WithRandSource(g)})
		if p.MaxIdle() != tc.want {
			t.Errorf("MaxIdle %d: pool keeps %d, want %d", tc.maxIdle, p.MaxIdle(), tc.want)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inv := newInv(queueRequest(), queueBindings)
				if err := p.Invoke(context.Background(), "counter", inv); err != nil {
					errs <- err
				}
			}()
		}
		for i := 0; i < 4; i++ { // four instances being made at once
			<-g.entered
		}
		close(g.open)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := p.Idle(); n != tc.want {
			t.Errorf("MaxIdle %d: %d idle instances after four at once, want %d", tc.maxIdle, n, tc.want)
		}
		// Sequential invocations reuse a kept instance: its counter goes on.
		for i := 0; i < 3; i++ {
			inv := newInv(queueRequest(), queueBindings)
			if err := p.Invoke(context.Background(), "counter", inv); err != nil {
				t.Fatal(err)
			}
			if _, ret, _, _ := rpcResult(inv); ret.GetInt() < 2 {
				t.Errorf("MaxIdle %d: counter %d, want a reused instance", tc.maxIdle, ret.GetInt())
			}
		}
		if n := p.Idle(); n != tc.want {
			t.Errorf("MaxIdle %d: %d idle instances at the end, want %d", tc.maxIdle, n, tc.want)
		}
		_ = p.Close(context.Background())
	}
}
