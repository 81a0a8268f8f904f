package heed

import (
	"fmt"
	"net/url"
)

// route returns the upstream that governs a request for u: the one named,
// when the request names one (WithUpstream), else the one whose base URL
// covers u best; nil when none does (the request passes through).
func (t *Transport) route(u *url.URL, named string) (*upstream, error) {
	if named == "" {
		i, ok := t.router.match(u)
		if !ok {
			return nil, nil
		}
		return t.ups[i], nil
	}
	for i, up := range t.ups {
		if up.cfg.Name != named {
			continue
		}
		if !t.router.coversAt(i, u) {
			return nil, fmt.Errorf("heed: the request names upstream %q, but its URL is not under that upstream's base URL", named)
		}
		return up, nil
	}
	return nil, fmt.Errorf("heed: the request names upstream %q, which is not configured", named)
}
