package heed

// MERGE: replaced by Config.Stores from the config branch.

import (
	"fmt"

	"github.com/heedhq/heed/store"
	redisstore "github.com/heedhq/heed/store/redis"
)

func openSharedStore(name string) (store.Store, error) {
	s, err := redisstore.Open(name, redisstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("heed: store: %w", err)
	}
	return s, nil
}
