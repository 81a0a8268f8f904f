package config

import (
	"fmt"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/store"
	redisstore "github.com/heedhq/heed/store/redis"
)

// Stores opens the stores a heed.Config may name besides memory: Redis,
// standalone (redis://, rediss://), Cluster (redis-cluster://) or Sentinel
// (redis-sentinel://), with the options its URL takes (see
// store/redis.ParseURL). Load and Parse set it as Config.Stores in the
// Configs they return; a Config built in code that names a Redis store sets
// it itself:
//
//	cfg := heed.Config{Store: "redis://cache:6379/0", Stores: config.Stores{}, ...}
//
// The zero value is ready to use and safe for concurrent use.
type Stores struct{}

var _ heed.StoreOpener = Stores{}

// Check reports whether name is a Redis URL that Open can open, without
// reaching the server. Its error does not quote the URL.
func (Stores) Check(name string) error {
	if _, _, err := redisstore.ParseURL(name); err != nil {
		return fmt.Errorf("%w (want memory or a redis://, rediss://, redis-cluster:// or redis-sentinel:// URL)", err)
	}
	return nil
}

// Open opens the Redis store of the URL name with store/redis's default
// options; the caller closes it.
func (Stores) Open(name string) (store.Store, error) {
	s, err := redisstore.Open(name, redisstore.Options{})
	if err != nil {
		return nil, err
	}
	return s, nil
}
