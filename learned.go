package heed

import (
	"sync"
	"time"

	"github.com/heedhq/heed/learn"
	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store"
)

// learners is what a scope learned of how each of its quotas comes back
// (package learn), by quota name. It is safe for concurrent use.
type learners struct {
	mu     sync.Mutex // guards byName
	byName map[string]*learn.Quota
}

// maxLearned bounds the quotas a scope learns: the names come from the
// API's headers.
const maxLearned = 8

// observe learns from what the answer to a request sent at sent said of
// q at now, and returns the quota's model. A quota beyond maxLearned is
// not learned: its model is unknown and it is spread.
func (ls *learners) observe(q quota.Quota, sent, now time.Time) learn.Model {
	if !q.HasLimit || !q.HasRemaining {
		return learn.Model{}
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.byName[q.Name]
	if l == nil {
		if len(ls.byName) >= maxLearned {
			return learn.Model{}
		}
		if ls.byName == nil {
			ls.byName = make(map[string]*learn.Quota)
		}
		l = new(learn.Quota)
		ls.byName[q.Name] = l
	}
	return l.Observe(learn.Observation{Sent: sent, Answered: now, Limit: q.Limit, Remaining: q.Remaining, Reset: q.Reset, Window: q.Window})
}

// adopt takes what another process learned of q (the learned pace the
// store kept), when this one learned nothing of it yet, and returns the
// model it makes.
func (ls *learners) adopt(q quota.Quota, l store.Learned) learn.Model {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if lq := ls.byName[q.Name]; lq != nil {
		return lq.Adopt(float64(l.Limit), l.Window)
	}
	return learn.Model{}
}

// refute forgets what was learned of every quota: the API refused a
// request the models let go.
func (ls *learners) refute() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, l := range ls.byName {
		l.Refute()
	}
}
