package coalesce

// Callers returns how many callers wait for the flight of key in g (0 when
// there is none), so that tests can start the answer once all have joined.
func Callers(g *Group, key string) int {
	g.mu.Lock()
	f := g.flights[key]
	g.mu.Unlock()
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.callers
}
