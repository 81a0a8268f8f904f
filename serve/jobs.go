package serve

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
)

// openJobs opens and starts the job engine a config asks for, sending
// through whichever Transport is in force.
func (s *Server) openJobs(cfg Config) error {
	jc := cfg.Jobs
	allow, err := jc.CallbackPatterns()
	if err != nil {
		return fmt.Errorf("serve: jobs.callback_allow: %w", err)
	}
	key, previous, err := jc.EncryptionKeys()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	e, err := jobs.Open(context.Background(), jobs.Options{
		Database: jc.Database, Transport: roundTripFunc(s.sendJob), Upstreams: baseURLs(cfg),
		Credentials: s.jobCredentials, Classes: s.jobClasses, EncryptionKey: key, PreviousEncryptionKeys: previous,
		Workers: jc.Workers, SnoozeAfter: jc.SnoozeAfter, MaxResponse: jc.MaxResponseBytes, Logger: s.log,
		CallbackSecret: []byte(jc.CallbackSecret), CallbackRetryFor: jc.CallbackRetryFor, Retention: jc.Retention,
		JobTimeout: jc.JobTimeout,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := e.Start(context.Background()); err != nil {
		_ = e.Stop(context.Background())
		return fmt.Errorf("serve: jobs: %w", err)
	}
	s.jobs = e
	s.jobsAPI = e.Handler(jobs.APIOptions{Limits: jobs.Limits{MaxBody: jc.MaxRequestBytes}, CallbackAllow: allow, MaxBatchBytes: jc.MaxBatchBytes})
	s.reg.MustRegister(&jobsCollector{e: e, desc: prometheus.NewDesc("heed_jobs", "Jobs by state (queued, waiting_quota, running, succeeded, failed, cancelled, expired).", []string{"state"}, nil)})
	return nil
}

// sendJob sends a job's request through the Transport in force.
func (s *Server) sendJob(r *http.Request) (*http.Response, error) {
	g := s.gen.Load()
	g.active.Add(1)
	defer g.active.Add(-1)
	return g.t.RoundTrip(r)
}

// jobCredentials returns the credential places of the upstream named so
// in the config in force, whose jobs' values there are sealed.
func (s *Server) jobCredentials(upstream string) heed.CredentialPolicy {
	for _, u := range s.gen.Load().cfg.Upstreams {
		if u.Name == upstream {
			return u.Credentials
		}
	}
	return heed.CredentialPolicy{}
}

// jobClasses returns the priority classes of the upstream named so in
// the config in force, nil when it has no fair shares.
func (s *Server) jobClasses(upstream string) []string {
	return s.gen.Load().classes[upstream]
}

// baseURLs maps each upstream of cfg to its base URL.
func baseURLs(cfg Config) map[string]string {
	m := make(map[string]string, len(cfg.Upstreams))
	for _, u := range cfg.Upstreams {
		m[u.Name] = u.BaseURL
	}
	return m
}

// roundTripFunc is a function as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// jobsCollector reports the queue's depth by state at scrape time.
type jobsCollector struct {
	e    *jobs.Engine
	desc *prometheus.Desc
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.e.Counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}

// state is /-/state's body: the Transport's snapshot and the job queue.
type state struct {
	heed.Snapshot
	Jobs map[string]int `json:"jobs,omitempty"`
}
