package serve

import "net/http"

// dashboardHandler serves the dashboard's files (placeholder until the
// dashboard package lands).
func dashboardHandler() http.Handler { return http.NotFoundHandler() }
