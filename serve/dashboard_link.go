package serve

import (
	"net/http"

	"github.com/heedhq/heed/serve/dashboard"
)

// dashboardHandler serves the dashboard's files.
func dashboardHandler() http.Handler { return dashboard.Handler() }
