package redis

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

// TestBlobCallsLeaveGroups: a blob's command in a batch does not split the
// acquires of a scope around it into two calls of decide.lua, as a lease's
// release does; it keeps its place among the blob commands.
func TestBlobCallsLeaveGroups(t *testing.T) {
	s := New(goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"}), Options{}) // never dialed
	g, err := limit.NewGCRA(10, time.Second, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	req := store.Request{Scope: "acme/api/group", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	set := blobCall("set", s.blobKey("ab"), "v", "px", "1000")
	get := blobCall("get", s.blobKey("ab"))
	batch := []*call{s.acquireCall(req, time.Second, 0), set, s.acquireCall(req, time.Second, 0), get}
	wire := s.pipe.group(batch)
	if len(wire) != 3 || len(wire[0].members) != 2 || wire[1] != set || wire[2] != get {
		t.Fatalf("grouped into %d calls (first of %d members), want decide.lua of 2, then SET, then GET", len(wire), len(wire[0].members))
	}
	release := &call{args: []any{"zrem", s.keys(req.Scope)[1], "1"}}
	batch = []*call{s.acquireCall(req, time.Second, 0), release, s.acquireCall(req, time.Second, 0)}
	if wire := s.pipe.group(batch); len(wire) != 3 {
		t.Fatalf("with a release between: %d calls, want 3 (a release still ends the group)", len(wire))
	}
}
