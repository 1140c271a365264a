package storage

import "sync"

// signals hands out, per name, a channel that the next notify closes: how a
// listener learns that this process wrote to a queue or container.
type signals struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

// wait returns the channel that the next notify(name) closes.
func (s *signals) wait(name string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = map[string]chan struct{}{}
	}
	c, ok := s.ch[name]
	if !ok {
		c = make(chan struct{})
		s.ch[name] = c
	}
	return c
}

// notify wakes everyone waiting on name.
func (s *signals) notify(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.ch[name]; ok {
		close(c)
		delete(s.ch, name)
	}
}
