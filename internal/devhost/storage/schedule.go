package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf16"
)

// HostsContainer is the container where the Functions host keeps its own
// state (timer status, blob receipts).
const HostsContainer = "azure-webjobs-hosts"

// ScheduleStatus is a timer function's schedule status, as the timer
// extension keeps it: the last occurrence that ran, the next one expected,
// and when the status was last written. A zero time is .NET's
// default(DateTime), "never".
type ScheduleStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

// ScheduleStore keeps the ScheduleStatus of timer functions by function
// name (as function.json's folder spells it): in memory without a storage
// account (MemorySchedules, kept across reloads but not across runs), in
// blob storage with one (BlobSchedules, kept across runs as the host keeps
// it). Backend.Schedules is the one a load uses.
type ScheduleStore interface {
	// Get returns the status stored for function, or nil (and no error)
	// when none is.
	Get(ctx context.Context, function string) (*ScheduleStatus, error)
	// Put stores the status of function.
	Put(ctx context.Context, function string, s ScheduleStatus) error
}

// MemorySchedules is a ScheduleStore in memory.
type MemorySchedules struct {
	mu sync.Mutex
	m  map[string]ScheduleStatus
}

var _ ScheduleStore = (*MemorySchedules)(nil)

// NewMemorySchedules returns an empty in-memory ScheduleStore.
func NewMemorySchedules() *MemorySchedules {
	return &MemorySchedules{m: map[string]ScheduleStatus{}}
}

// Get implements ScheduleStore. Function names are compared without regard
// to case, as the host compares them.
func (s *MemorySchedules) Get(_ context.Context, function string) (*ScheduleStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[strings.ToLower(function)]
	if !ok {
		return nil, nil
	}
	return &st, nil
}

// Put implements ScheduleStore.
func (s *MemorySchedules) Put(_ context.Context, function string, st ScheduleStatus) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[strings.ToLower(function)] = st
	return nil
}

// BlobSchedules is a ScheduleStore in blob storage, where the timer
// extension keeps it: blob timers/<hostId>/Host.Functions.<function>/status
// of container azure-webjobs-hosts, holding {"Last","Next","LastUpdated"}.
type BlobSchedules struct {
	Blobs  Blobs
	HostID string
}

var _ ScheduleStore = (*BlobSchedules)(nil)

// StatusBlob is the name of the blob (in HostsContainer) holding the
// status of function.
func (s *BlobSchedules) StatusBlob(function string) string {
	return "timers/" + s.HostID + "/Host.Functions." + function + "/status"
}

// statusJSON is ScheduleStatus as Newtonsoft writes it (IsoDateFormat).
type statusJSON struct {
	Last        string `json:"Last"`
	Next        string `json:"Next"`
	LastUpdated string `json:"LastUpdated"`
}

// netDefaultDate is .NET's default(DateTime) as Newtonsoft writes it.
const netDefaultDate = "0001-01-01T00:00:00"

// netDate formats t as Newtonsoft.Json writes a local DateTime: ISO 8601
// with up to 7 fractional digits and the local offset; the zero time is
// default(DateTime).
func netDate(t time.Time) string {
	if t.IsZero() {
		return netDefaultDate
	}
	return t.In(time.Local).Format("2006-01-02T15:04:05.9999999-07:00")
}

// parseNetDate reads a DateTime as Newtonsoft writes one: with an offset,
// "Z", or neither (then local time). Year 1 is default(DateTime), the zero
// time.
func parseNetDate(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if t, err = time.ParseInLocation("2006-01-02T15:04:05.9999999", s, time.Local); err != nil {
			return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date", s)
		}
	}
	if t.Year() <= 1 {
		return time.Time{}, nil
	}
	return t, nil
}

// Get implements ScheduleStore.
func (s *BlobSchedules) Get(ctx context.Context, function string) (*ScheduleStatus, error) {
	data, _, err := s.Blobs.Read(ctx, HostsContainer, s.StatusBlob(function))
	if errors.Is(err, ErrBlobNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the schedule status of %s: %w", function, err)
	}
	var j statusJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("schedule status of %s (%s/%s): %w", function, HostsContainer, s.StatusBlob(function), err)
	}
	var st ScheduleStatus
	for _, f := range []struct {
		in  string
		out *time.Time
	}{{j.Last, &st.Last}, {j.Next, &st.Next}, {j.LastUpdated, &st.LastUpdated}} {
		if f.in == "" {
			continue
		}
		if *f.out, err = parseNetDate(f.in); err != nil {
			return nil, fmt.Errorf("schedule status of %s: %w", function, err)
		}
	}
	return &st, nil
}

// Put implements ScheduleStore.
func (s *BlobSchedules) Put(ctx context.Context, function string, st ScheduleStatus) error {
	data, err := json.Marshal(statusJSON{Last: netDate(st.Last), Next: netDate(st.Next), LastUpdated: netDate(st.LastUpdated)})
	if err != nil {
		return err
	}
	if _, err := s.Blobs.Write(ctx, HostsContainer, s.StatusBlob(function), data); err != nil {
		return fmt.Errorf("writing the schedule status of %s: %w", function, err)
	}
	return nil
}

// HostID is the host id the Functions host uses on a developer machine: the
// app setting AzureFunctionsWebHost__hostid when set, else the machine
// name's letters and digits, "-", and a stable hash of the app folder's
// absolute path; at most 32 characters, lower case, without a trailing dash
// (ScriptHostIdProvider.GetDefaultHostId).
func HostID(appDir string, lookup func(string) (string, bool)) string {
	if lookup != nil {
		if v, ok := lookup("AzureFunctionsWebHost__hostid"); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	machine, _ := os.Hostname()
	// .NET's Environment.MachineName on Unix: the host name up to its first dot.
	machine, _, _ = strings.Cut(machine, ".")
	var b strings.Builder
	for _, r := range machine {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	abs, err := filepath.Abs(appDir)
	if err != nil {
		abs = appDir
	}
	id := fmt.Sprintf("%s-%d", b.String(), absInt32(stableHash(abs)))
	if len(id) > 32 {
		id = id[:32]
	}
	return strings.TrimRight(strings.ToLower(id), "-")
}

// stableHash is the host's Utility.GetStableHash: 23, then hash*31 + each
// UTF-16 code unit, in 32-bit arithmetic.
func stableHash(s string) int32 {
	h := int32(23)
	for _, c := range utf16.Encode([]rune(s)) {
		h = h*31 + int32(c)
	}
	return h
}

func absInt32(v int32) int64 {
	if v < 0 {
		return -int64(v)
	}
	return int64(v)
}
