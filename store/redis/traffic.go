package redis

import "github.com/heedhq/heed/store"

var _ store.TrafficCounter = (*Store)(nil)

// Traffic implements store.TrafficCounter: Stats, in the store package's
// terms.
func (s *Store) Traffic() store.Traffic {
	st := s.Stats()
	return store.Traffic{RoundTrips: st.RoundTrips, Commands: st.Commands, Settles: st.Settles, SettlesLost: st.SettlesLost}
}
